"""Downsampling of the dashboard's time series into fixed tiers. No I/O.

Every sample feeds one bucket per tier (1 s, 1 min, 15 min by default): the bucket keeps the
average, minimum, maximum and count of what arrived in it. A bucket is closed when a sample for
a later bucket arrives or when its end has passed (``close_due``); closed buckets wait in
``pending`` until the store takes them in one batch. Queries read the finest tier that still
holds the asked range at an acceptable number of points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

DAY_S = 86_400


@dataclass(frozen=True)
class Tier:
    step_s: int
    retention_s: int


#: 1 s for a day, 1 min for 30 days, 15 min for a year
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(1, DAY_S),
    Tier(60, 30 * DAY_S),
    Tier(900, 365 * DAY_S),
)


@dataclass(frozen=True)
class Row:
    """One closed (or, in a query, still open) bucket of one series."""

    series: str
    step_s: int
    t: int  # bucket start, epoch seconds
    avg: float
    min: float
    max: float
    n: int

    def merged(self, other: Row) -> Row:
        n = self.n + other.n
        return Row(
            self.series,
            self.step_s,
            self.t,
            (self.avg * self.n + other.avg * other.n) / n,
            min(self.min, other.min),
            max(self.max, other.max),
            n,
        )


@dataclass
class _Bucket:
    t: int
    total: float
    low: float
    high: float
    n: int

    def add(self, value: float) -> None:
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.n += 1

    def row(self, series: str, step_s: int) -> Row:
        return Row(series, step_s, self.t, self.total / self.n, self.low, self.high, self.n)


class Downsampler:
    """Open buckets per (series, tier) and the closed rows not yet stored."""

    def __init__(self, tiers: tuple[Tier, ...] = DEFAULT_TIERS, max_series: int = 200) -> None:
        if not tiers or any(b.step_s % a.step_s for a, b in zip(tiers, tiers[1:], strict=False)):
            raise ValueError("tiers: each step must be a multiple of the one before")
        self.tiers = tiers
        self.max_series = max_series
        self._open: dict[tuple[str, int], _Bucket] = {}
        self._series: set[str] = set()
        self.pending: list[Row] = []
        #: samples refused: not a finite number, or a new series beyond max_series
        self.refused = 0

    @property
    def series(self) -> set[str]:
        return set(self._series)

    def seed(self, names: Iterable[str]) -> None:
        """Series already in the store count against ``max_series`` (after a restart)."""
        self._series.update(names)

    def add(self, series: str, t: float, value: float) -> bool:
        """One sample at epoch time ``t``; False (and counted) if it is refused."""
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            self.refused += 1
            return False
        if series not in self._series:
            if len(self._series) >= self.max_series:
                self.refused += 1
                return False
            self._series.add(series)
        for tier in self.tiers:
            start = int(t // tier.step_s * tier.step_s)
            key = (series, tier.step_s)
            bucket = self._open.get(key)
            if bucket is not None and bucket.t != start:
                if start < bucket.t:  # a late sample for a closed bucket: not rewritten
                    continue
                self.pending.append(bucket.row(series, tier.step_s))
                bucket = None
            if bucket is None:
                self._open[key] = _Bucket(start, float(value), float(value), float(value), 1)
            else:
                bucket.add(float(value))
        return True

    def close_due(self, now: float) -> None:
        """Close every bucket whose end has passed (no sample arrived after it)."""
        for (series, step), bucket in list(self._open.items()):
            if bucket.t + step <= now:
                self.pending.append(bucket.row(series, step))
                del self._open[(series, step)]

    def close_all(self) -> None:
        """On shutdown: everything open becomes pending (a restart merges partial buckets)."""
        for (series, step), bucket in self._open.items():
            self.pending.append(bucket.row(series, step))
        self._open.clear()

    def take_pending(self) -> list[Row]:
        rows, self.pending = self.pending, []
        return rows

    def unstored(self, step_s: int, names: set[str], start: float, end: float) -> list[Row]:
        """Pending and open rows of one tier in [start, end]: what a query adds to the store's."""
        rows = [r for r in self.pending if r.step_s == step_s]
        rows += [b.row(s, st) for (s, st), b in self._open.items() if st == step_s]
        first = start // step_s * step_s
        return [r for r in rows if r.series in names and first <= r.t <= end]


def choose_step(
    tiers: tuple[Tier, ...], start: float, end: float, now: float, max_points: int
) -> tuple[Tier, int]:
    """The tier to read and the step of the answer for [start, end] with <= max_points points.

    The finest tier that still holds ``start`` and gives at most ``max_points`` points; when even
    the coarsest gives more, its rows are merged into a multiple of its step.
    """
    span = max(end - start, 1.0)
    holding = [t for t in tiers if start >= now - t.retention_s] or [tiers[-1]]
    for tier in holding:
        if span / tier.step_s <= max_points:
            return tier, tier.step_s
    coarsest = holding[-1]
    factor = math.ceil(span / coarsest.step_s / max_points)
    return coarsest, coarsest.step_s * factor


def regroup(rows: list[Row], step_s: int) -> list[Row]:
    """Rows of one series merged into buckets of ``step_s`` (a multiple of theirs), by time."""
    out: dict[int, Row] = {}
    for row in sorted(rows, key=lambda r: r.t):
        t = row.t // step_s * step_s
        moved = Row(row.series, step_s, t, row.avg, row.min, row.max, row.n)
        out[t] = out[t].merged(moved) if t in out else moved
    return [out[t] for t in sorted(out)]
