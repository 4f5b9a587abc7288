"""The benchmark's goals for our controller, checked on a set of days (pure).

At every meter period, on the given days: (1) ours has the least avoidable import+export of
all baselines on every single day; (2) summed over the days, ours is at least ``MARGIN`` below
the best baseline's sum; (3) ours writes no more setpoints per hour than the PID baseline;
(4) ours' worst overshoot is below ``MAX_OVERSHOOT_W``. Goals are reported, never enforced
here (``bench.control --strict`` turns a missed goal into a failing exit code).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.metrics import combine
from bench.strategies import OURS

MARGIN = 0.20
MAX_OVERSHOOT_W = 100.0
PID_BASELINE = "pid_last_command"

#: period -> day -> strategy -> metrics
PerDay = dict[str, dict[str, dict[str, dict[str, float]]]]


@dataclass(frozen=True)
class GoalResult:
    goal: str
    period: str
    met: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_goals(per_day: PerDay, days: list[str]) -> list[GoalResult]:
    out: list[GoalResult] = []
    for period, by_day in per_day.items():
        rows = [by_day[d] for d in days]
        strategies = [s for s in rows[0] if s != OURS]
        losses = []
        for day, row in zip(days, rows, strict=True):
            mine = row[OURS]["avoidable_total_wh"]
            for name in strategies:
                if row[name]["avoidable_total_wh"] <= mine:
                    losses.append(
                        f"{day}: {name} {row[name]['avoidable_total_wh']:.0f} Wh <= ours {mine:.0f}"
                    )
        out.append(
            GoalResult(
                "least avoidable import+export on every day",
                period,
                not losses,
                "; ".join(losses) if losses else f"best on all {len(days)} days",
            )
        )
        total = {s: combine([r[s] for r in rows]) for s in rows[0]}
        ours = total[OURS]
        best_name = min(strategies, key=lambda s: total[s]["avoidable_total_wh"])
        best = total[best_name]["avoidable_total_wh"]
        mine = ours["avoidable_total_wh"]
        less = 1 - mine / best if best > 0 else float("-inf")
        out.append(
            GoalResult(
                f">= {MARGIN:.0%} less avoidable than the best baseline (sum)",
                period,
                best > 0 and less >= MARGIN,
                f"ours {mine:.0f} Wh vs {best_name} {best:.0f} Wh ({less:+.1%} less)",
            )
        )
        pid = total[PID_BASELINE]["writes_per_h"]
        out.append(
            GoalResult(
                "writes/h <= PID baseline",
                period,
                ours["writes_per_h"] <= pid,
                f"ours {ours['writes_per_h']:.0f}/h vs {PID_BASELINE} {pid:.0f}/h",
            )
        )
        worst_day = max(days, key=lambda d: by_day[d][OURS]["max_overshoot_w"])
        worst = by_day[worst_day][OURS]["max_overshoot_w"]
        out.append(
            GoalResult(
                f"worst overshoot < {MAX_OVERSHOOT_W:.0f} W",
                period,
                worst < MAX_OVERSHOOT_W,
                f"ours {worst:.0f} W ({worst_day})",
            )
        )
    return out
