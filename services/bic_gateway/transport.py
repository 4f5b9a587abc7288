"""Requests to BIC units over one CAN bus: pacing, per-request timeout, bounded retries.

One object per bus and one thread using it (the gateway's bus worker, or the CLI with ``--can``),
so requests never overlap. Responses are matched by arbitration id **and** echoed command code
(``codec.decode_response``); anything else that arrives while waiting (a stale answer to an
earlier, timed-out request, another unit's frame) is dropped and counted, never attributed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import can
import structlog

from .codec import (
    BIC_IDS,
    DOCUMENTED_SCALING,
    FrameError,
    IdScheme,
    Response,
    ScalingFactors,
    broadcast_write,
    decode_response,
    read_request,
    write_request,
)
from .pacing import Pacer
from .registers import Register, RegisterRef, resolve

log = structlog.get_logger("bic_gateway.transport")


class NoResponse(TimeoutError):
    """The unit did not answer a read within timeout and retries."""


class BusError(NoResponse):
    """The CAN interface refused to send or receive (interface down, or its transmit queue is
    full because no other node acknowledges frames). To the caller the unit does not answer."""


class Interrupted(Exception):
    """A request was not sent because something more urgent is waiting (``interrupt`` said so).

    Never raised between a write and its read-back, so the cached value of a written register is
    always what the unit holds."""


BUS_ERROR_HINT = (
    "is the interface up (ip link), and is another node acknowledging frames "
    "(unit powered, bus terminated, same bitrate)?"
)


@dataclass
class TransportStats:
    requests: int = 0
    writes: int = 0
    responses: int = 0
    timeouts: int = 0
    dropped_frames: int = 0
    bus_errors: int = 0  # the interface refused a send or a receive
    bytes_on_bus: int = 0  # payload bytes of frames sent and received (for bus load)


class CanTransport:
    def __init__(
        self,
        bus: can.BusABC,
        pacer: Pacer | None = None,
        *,
        timeout_s: float = 0.1,
        retries: int = 2,
        ids: IdScheme = BIC_IDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.pacer = pacer or Pacer()
        self.timeout_s = timeout_s
        self.retries = retries
        self.ids = ids  # the default id scheme (and the one broadcasts use)
        #: per-address id scheme where it differs from ``ids`` (an NPB on a BIC bus, see
        #: families.py); set by identification
        self.ids_by_address: dict[int, IdScheme] = {}
        self.clock = clock
        self.scaling: dict[int, ScalingFactors] = {}
        self.stats = TransportStats()
        self.on_frame_sent: Callable[[can.Message], None] | None = None
        #: asked before each request (except a read-back): a reason to give way, or None
        self.interrupt: Callable[[], str | None] | None = None
        self._read_back: tuple[int | None, int] | None = None  # (address, code) just written
        self._lock = threading.Lock()

    def ids_for(self, address: int) -> IdScheme:
        return self.ids_by_address.get(address, self.ids)

    def scaling_for(self, address: int) -> ScalingFactors:
        return self.scaling.get(address, DOCUMENTED_SCALING)

    # --- I/O ---------------------------------------------------------------------------------
    def _check_interrupt(self, address: int | None, register: Register, *, read: bool) -> None:
        read_back = read and self._read_back == (address, register.code)
        self._read_back = None
        if read_back or self.interrupt is None:
            return
        reason = self.interrupt()
        if reason is not None:
            raise Interrupted(f"{register.name} not sent: {reason}")

    def _wait_turn(self, address: int | None) -> None:
        delay = self.pacer.delay(address, self.clock())
        if delay > 0:
            time.sleep(delay)

    def _send(self, address: int | None, arbitration_id: int, data: bytes) -> None:
        self._wait_turn(address)
        msg = can.Message(arbitration_id=arbitration_id, data=data, is_extended_id=True)
        try:
            self.bus.send(msg)
        except can.CanError as exc:
            raise self._bus_error("refused a frame", exc) from exc
        self.pacer.sent(address, self.clock())
        self.stats.bytes_on_bus += len(data)
        if self.on_frame_sent is not None:
            self.on_frame_sent(msg)

    def _recv(self, timeout: float) -> can.Message | None:
        try:
            return self.bus.recv(timeout)
        except can.CanError as exc:
            raise self._bus_error("failed to receive", exc) from exc

    def _bus_error(self, what: str, exc: can.CanError) -> BusError:
        self.stats.bus_errors += 1
        return BusError(f"CAN interface {what} ({exc}); {BUS_ERROR_HINT}")

    def _drain(self) -> None:
        """Drop frames that arrived while nobody asked (late answers to timed-out requests)."""
        while (stale := self._recv(0)) is not None:
            self.stats.dropped_frames += 1
            log.debug("stale_frame_dropped", id=f"{stale.arbitration_id:08X}")

    def _await(self, register: Register, address: int) -> Response | None:
        deadline = self.clock() + self.timeout_s
        while (remaining := deadline - self.clock()) > 0:
            msg = self._recv(remaining)
            if msg is None:
                break
            if not msg.is_extended_id:
                self.stats.dropped_frames += 1
                continue
            try:
                response = decode_response(
                    msg.arbitration_id,
                    bytes(msg.data),
                    expect_code=register.code,
                    expect_address=address,
                    scaling=self.scaling_for(address),
                    ids=self.ids_for(address),
                )
            except FrameError as exc:
                self.stats.dropped_frames += 1
                log.debug("frame_dropped", id=f"{msg.arbitration_id:08X}", reason=str(exc))
                continue
            self.pacer.answered(self.clock())
            self.stats.responses += 1
            self.stats.bytes_on_bus += len(msg.data)
            return response
        return None

    def read(self, address: int, ref: RegisterRef) -> Response:
        """Read one register; raises NoResponse after 1 + ``retries`` unanswered requests, and
        BusError (a NoResponse) at once when the interface refuses: retrying cannot help."""
        register = resolve(ref)
        frame = read_request(address, register, self.ids_for(address))
        with self._lock:
            self._check_interrupt(address, register, read=True)
            for _attempt in range(1 + self.retries):
                self._drain()
                self._send(address, frame.arbitration_id, frame.data)
                self.stats.requests += 1
                response = self._await(register, address)
                if response is not None:
                    return response
                self.stats.timeouts += 1
        raise NoResponse(f"unit {address}: no answer to {register.name}")

    def write(self, address: int | None, ref: RegisterRef, raw: int) -> None:
        """Send a write (the unit never answers writes; verify by reading back)."""
        register = resolve(ref)
        if address is None:
            frame = broadcast_write(register, raw, self.ids)
        else:
            frame = write_request(address, register, raw, self.ids_for(address))
        with self._lock:
            self._check_interrupt(address, register, read=False)
            self._send(address, frame.arbitration_id, frame.data)
            self.stats.writes += 1
            self._read_back = (address, register.code)

    def close(self) -> None:
        self.bus.shutdown()
