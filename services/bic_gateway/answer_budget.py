"""How many refusals the gateway answers per second, per unit (pure, clock passed in).

Every refused or dropped command is answered on ``error`` (and ``reply`` for ``set/cmd``). Under
a flood that is one answer per hostile message: as much traffic back out as comes in, and the
CPU it costs (JSON, publishing, the broker passing it on) is taken from the work that matters
while the flood lasts, the safe idle above all. So answers are a token bucket: ``rate_per_s``
on average, ``burst`` at once; what is over it is only counted, and the next answer that goes
out (or, once the flood is over, the bus worker) says how many were withheld
(docs/bic2200.md#command-queue).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.token_bucket import TokenBucket


@dataclass
class AnswerBudget:
    rate_per_s: float = 20.0
    burst: float = 40.0
    withheld: int = 0
    _bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate_per_s, self.burst)

    def take(self, now: float) -> tuple[bool, int]:
        """Whether this answer may go out now, and how many were withheld before it (their
        count is then reported once and reset; 0 when nothing was withheld)."""
        if self._bucket.available(now) < 1.0:
            self.withheld += 1
            return False, 0
        return True, self._spend()

    def flush(self, now: float) -> int:
        """The count of withheld answers once one answer may go out again (it says how many),
        else 0: called regularly, so a flood's last refusals are not left untold."""
        if not self.withheld or self._bucket.available(now) < 1.0:
            return 0
        return self._spend()

    def _spend(self) -> int:
        """One answer goes out: one token less; the withheld count it carries, reset."""
        self._bucket.spend()
        withheld, self.withheld = self.withheld, 0
        return withheld
