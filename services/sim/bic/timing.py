"""The manual's bus timing as the simulated unit sees it (pure, explicit times in seconds).

docs/protocol-bic2200.md#timing

* at least ``request_period_s`` (20 ms) between two requests to one unit (a broadcast counts
  for every unit);
* at least ``reply_margin_s`` (5 ms) between a reply on the bus and the next request;
* the unit answers a read within ``reply_max_s`` (5 ms): the delay is drawn from
  [``reply_min_s``, ``reply_max_s``] with a seeded random generator, and a reply is lost with
  probability ``lost_reply_rate``.

``tolerance_s`` forgives timestamp granularity (frames are timestamped by the receiving side).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TimingRules:
    request_period_s: float = 0.020
    reply_margin_s: float = 0.005
    reply_min_s: float = 0.001
    reply_max_s: float = 0.004
    lost_reply_rate: float = 0.0
    tolerance_s: float = 0.001
    seed: int = 0


@dataclass
class BusTiming:
    rules: TimingRules = field(default_factory=TimingRules)
    _last_request: dict[int, float] = field(default_factory=dict)
    _last_reply: float = float("-inf")
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.rules.seed)

    def request(self, addresses: list[int], at: float) -> list[tuple[int, str, str]]:
        """Note a request to ``addresses`` at time ``at``; (address, kind, detail) violations."""
        rules = self.rules
        found = []
        gap = at - self._last_reply
        for address in addresses:
            since = at - self._last_request.get(address, float("-inf"))
            if since < rules.request_period_s - rules.tolerance_s:
                found.append(
                    (address, "request_too_soon", f"{since * 1000:.1f} ms after the previous one")
                )
            if gap < rules.reply_margin_s - rules.tolerance_s:
                found.append((address, "reply_margin", f"{gap * 1000:.1f} ms after a reply"))
            self._last_request[address] = at
        return found

    def reply_delay(self) -> float | None:
        """Seconds until the reply goes out, or None: this reply is lost."""
        rules = self.rules
        if rules.lost_reply_rate and self._rng.random() < rules.lost_reply_rate:
            return None
        return self._rng.uniform(rules.reply_min_s, rules.reply_max_s)

    def replied(self, at: float) -> None:
        self._last_reply = max(self._last_reply, at)
