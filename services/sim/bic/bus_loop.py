"""Serve simulated units on a python-can bus: answer reads at once, step the physics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import can

from .device import SimulatedBic

BIC_RESPONSE_BASE = 0x000C0200


class SimBusLoop:
    def __init__(
        self,
        bus: can.BusABC,
        units: list[SimulatedBic],
        step_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.units = units
        self.step_s = step_s
        self.clock = clock
        self.lock = threading.Lock()  # guards the units against the MQTT thread
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-bic-bus", daemon=True)

    def start(self) -> SimBusLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last = self.clock()
        while not self._stop.is_set():
            msg = self.bus.recv(timeout=self.step_s)
            if msg is not None and msg.is_extended_id:
                self._answer(msg)
            now = self.clock()
            if now - last >= self.step_s:
                with self.lock:
                    for unit in self.units:
                        unit.step(now - last)
                last = now

    def _answer(self, msg: can.Message) -> None:
        with self.lock:
            replies = [
                (unit.address, unit.handle(msg.arbitration_id, bytes(msg.data)))
                for unit in self.units
            ]
        for address, data in replies:
            if data is not None:
                self.bus.send(
                    can.Message(
                        arbitration_id=BIC_RESPONSE_BASE + address, data=data, is_extended_id=True
                    )
                )
                self.answered += 1
