"""What the BIC gateway writes on the simulated bus, and whether each write is allowed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import can

from services.bic_gateway.codec import BIC_IDS, FrameError, decode_request, from_raw
from services.bic_gateway.models import MODELS
from services.bic_gateway.registers import Kind, resolve
from services.bic_gateway.settings import BatterySettings

MODEL = MODELS["BIC-2200-48"]
BATTERY = BatterySettings()  # the gateway runs with the default window


@dataclass
class BusMonitor:
    """Every write request on the simulated bus, with its receive time (a python-can listener)."""

    bus: can.BusABC
    writes: list[tuple[float, str, int]] = field(default_factory=list)
    malformed: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bus-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self.bus.recv(0.2)
            if msg is None or msg.arbitration_id & ~0xFF != BIC_IDS.request_base:
                continue
            try:
                request = decode_request(msg.arbitration_id, bytes(msg.data), BIC_IDS)
            except FrameError:
                self.malformed += 1
                continue
            if request.is_write:
                assert request.raw is not None  # a write carries its value
                register = request.register
                raw = int.from_bytes(request.raw, "little", signed=register.signed)
                self.writes.append((time.monotonic(), register.name, raw))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.bus.shutdown()


def out_of_bounds(name: str, raw: int) -> str | None:
    """Why a write of `raw` to `name` is outside the model range or the battery window."""
    register = resolve(name)
    if register.kind is Kind.CHOICE:
        return None if raw in register.choice_names else f"{name} = {raw} is not a choice"
    if register.kind is not Kind.NUMBER:
        return None
    value = from_raw(register, raw)
    allowed = register.range_for(MODEL.nominal_voltage)
    if allowed is not None and not allowed.contains(value):
        return f"{name} = {value} outside the model range"
    if name == "VOUT_SET" and value > BATTERY.max_v:
        return f"VOUT_SET = {value} V above the battery maximum {BATTERY.max_v} V"
    if name == "REVERSE_VOUT_SET" and value < BATTERY.min_v:
        return f"REVERSE_VOUT_SET = {value} V below the battery minimum {BATTERY.min_v} V"
    return None
