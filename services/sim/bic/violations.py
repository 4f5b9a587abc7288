"""Protocol violations a simulated unit saw: what a real unit would ignore, drop or mis-time.

Kinds: ``request_too_soon`` (< 20 ms after the previous request to the unit), ``reply_margin``
(< 5 ms after a reply on the bus), ``svr_ignored`` (VOUT/IOUT/OPERATION written in SVR mode),
``out_of_range``, ``read_only``, ``unknown_command``, ``malformed`` (wrong length),
``broadcast_read`` (the manual documents broadcast writes only), ``not_supported`` (a write to a
register this unit has not got).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

RECENT = 20


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str
    t_s: float  # simulator clock

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "t_s": round(self.t_s, 3)}


@dataclass
class ViolationLog:
    by_kind: Counter[str] = field(default_factory=Counter)
    recent: deque[Violation] = field(default_factory=lambda: deque(maxlen=RECENT))
    unpublished: list[Violation] = field(default_factory=list)

    def add(self, kind: str, detail: str, t_s: float) -> Violation:
        violation = Violation(kind, detail, t_s)
        self.by_kind[kind] += 1
        self.recent.append(violation)
        self.unpublished.append(violation)
        return violation

    def take_unpublished(self) -> list[Violation]:
        taken, self.unpublished = self.unpublished, []
        return taken

    def clear(self) -> None:
        self.by_kind.clear()
        self.recent.clear()
        self.unpublished.clear()

    @property
    def count(self) -> int:
        return sum(self.by_kind.values())

    def summary(self) -> dict[str, object]:
        return {
            "count": self.count,
            "by_kind": dict(self.by_kind),
            "recent": [v.as_dict() for v in self.recent],
        }
