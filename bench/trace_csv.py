"""A user's house trace as CSV: ``t_s`` and ``net_w`` one row per second (pure, no numpy).

Format: lines starting with ``#`` are comments (anywhere); the first other line is the header
and must name the columns ``t_s`` and ``net_w`` (house net power in W without the battery,
> 0 import); other columns are ignored. ``t_s`` must go up by exactly 1 from row to row (no
gaps, no repeats). ``.gz`` files are read transparently. Every problem is reported as a
``TraceError`` naming the file and line.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("t_s", "net_w")


class TraceError(ValueError):
    """A CSV the benchmark cannot use; the message says which line and why."""


@dataclass(frozen=True)
class Trace:
    start_s: int  # t_s of the first row
    net_w: list[float]  # one value per second
    comments: tuple[str, ...]  # the '#' lines, without the '#'


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not UTF-8 text") from None


def _number(cell: str, name: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        shown = cell if len(cell) <= 40 else cell[:40] + "..."
        raise TraceError(f"{where}: {name} {shown!r} is not a number") from None
    if not math.isfinite(value):
        raise TraceError(f"{where}: {name} {cell!r} is not a finite number")
    return value


def parse_trace(text: str, source: str = "trace") -> Trace:
    """Parse CSV text; ``source`` names it in error messages."""
    header: list[str] | None = None
    columns: dict[str, int] = {}
    comments: list[str] = []
    values: list[float] = []
    start = previous = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            continue
        if not stripped:
            continue
        cells = [c.strip() for c in stripped.split(",")]
        where = f"{source} line {number}"
        if header is None:
            header = cells
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise TraceError(
                    f"{where}: header {','.join(header)[:120]!r} lacks column(s) "
                    f"{', '.join(missing)} (need at least t_s,net_w)"
                )
            columns = {name: header.index(name) for name in REQUIRED}
            continue
        if len(cells) < len(header):
            raise TraceError(f"{where}: {len(cells)} field(s), the header has {len(header)}")
        t = _number(cells[columns["t_s"]], "t_s", where)
        net = _number(cells[columns["net_w"]], "net_w", where)
        if t != int(t):
            raise TraceError(f"{where}: t_s {t:g} is not a whole second")
        t_int = int(t)
        if not values:
            start = t_int
        elif t_int != previous + 1:
            what = "repeats or goes back" if t_int <= previous else "jumps"
            raise TraceError(
                f"{where}: t_s {what} from {previous} to {t_int} (one row per second expected)"
            )
        previous = t_int
        values.append(net)
    if header is None:
        raise TraceError(f"{source}: no header row (need at least t_s,net_w)")
    if not values:
        raise TraceError(f"{source}: no data rows after the header")
    return Trace(start, values, tuple(comments))


def read_trace(path: Path) -> Trace:
    return parse_trace(_text(path), str(path))
