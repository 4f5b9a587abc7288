"""Request pacing per the manual (docs/protocol-bic2200.md#timing), as pure logic with ``now``.

* at least ``request_period_s`` (20 ms) between two requests to the same unit;
* at least ``response_margin_s`` (5 ms) between a response on the bus and the next request.

A broadcast counts as a request to every unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Pacer:
    request_period_s: float = 0.02
    response_margin_s: float = 0.005
    _last_request: dict[int, float] = field(default_factory=dict)
    _last_broadcast: float = float("-inf")
    _last_response: float = float("-inf")

    def delay(self, address: int | None, now: float) -> float:
        """Seconds to wait before a request to ``address`` (None = broadcast) may be sent."""
        if address is None:
            last = max([self._last_broadcast, *self._last_request.values()])
        else:
            last = max(self._last_request.get(address, float("-inf")), self._last_broadcast)
        earliest = max(last + self.request_period_s, self._last_response + self.response_margin_s)
        return max(0.0, earliest - now)

    def sent(self, address: int | None, now: float) -> None:
        if address is None:
            self._last_broadcast = now
        else:
            self._last_request[address] = now

    def answered(self, now: float) -> None:
        self._last_response = now
