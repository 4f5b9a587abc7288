"""Serve simulated units on a python-can bus: check the manual's timing, answer reads after a
realistic delay (sometimes not at all, if asked to), step the physics."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

import can

from . import frames
from .device import SimulatedBic
from .timing import BusTiming, TimingRules


class SimBusLoop:
    def __init__(
        self,
        bus: can.BusABC,
        units: list[SimulatedBic],
        step_s: float = 0.1,
        timing: TimingRules | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus
        self.units = units
        self.step_s = step_s
        self.timing = BusTiming(timing or TimingRules())
        self.clock = clock  # wall clock: compared with the frames' receive timestamps
        self.lock = threading.Lock()  # guards the units against the MQTT thread
        self.answered = 0
        self.lost = 0
        self._due: list[tuple[float, int, int, bytes]] = []  # (when, seq, id, data)
        self._seq = itertools.count()
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
            now = self.clock()
            wait = last + self.step_s - now
            if self._due:
                wait = min(wait, self._due[0][0] - now)
            msg = self.bus.recv(timeout=max(0.0, wait))
            if msg is not None and msg.is_extended_id:
                self._answer(msg)
            self._send_due()
            now = self.clock()
            if now - last >= self.step_s:
                with self.lock:
                    for unit in self.units:
                        unit.step(now - last)
                last = now

    def _answer(self, msg: can.Message) -> None:
        at = msg.timestamp or self.clock()
        address = frames.address_of(msg.arbitration_id)
        with self.lock:
            addressed = [
                u
                for u in self.units
                if not u.muted
                and msg.arbitration_id & frames.ADDRESS_MASK == u.family.request_base
                and address in (u.address, frames.BROADCAST)
            ]
            by_address = {u.address: u for u in addressed}
            for unit_address, kind, detail in self.timing.request(list(by_address), at):
                by_address[unit_address].violation(kind, detail)
            replies = [(u, u.handle(msg.arbitration_id, bytes(msg.data))) for u in addressed]
        for unit, data in replies:
            if data is None:
                continue
            delay = self.timing.reply_delay()
            if delay is None:
                self.lost += 1
                with self.lock:
                    unit.lost_replies += 1
                continue
            reply_id = unit.family.response_base + unit.address
            heapq.heappush(self._due, (self.clock() + delay, next(self._seq), reply_id, data))

    def _send_due(self) -> None:
        while self._due and self._due[0][0] <= self.clock():
            _when, _seq, reply_id, data = heapq.heappop(self._due)
            self.timing.replied(self.clock())
            self.bus.send(can.Message(arbitration_id=reply_id, data=data, is_extended_id=True))
            self.answered += 1
