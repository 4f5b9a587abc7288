"""Grid power from smart-meter MQTT payloads (pure: topic, payload bytes, receive time in).

Supported shapes (docs/charge-controller.md#meter-examples): plain numbers (``-123.4``, also
quoted), JSON with a path such as ``SML.Power_curr``, ``$.total_act_power``,
``ENERGY.Power``, ``emeters[0].power``, ``params.em:0.total_act_power``, ``a/b/0/c`` or
recursive ``$..Power_curr``. Numbers given as strings are accepted; ``null``, ``""``,
``unavailable``/``unknown``/``none`` and NaN/inf are "no value" (never 0), and so is a payload
that ``shared.payload_limits`` refuses (oversized, too deeply nested, a 400-digit number).

Several sources (phases or meters) are summed, and optional export sources subtracted
(DSMR style import/export), but a combined sample is only produced once every source has
delivered a new value since the previous sample and none of them is older than
``max_age_s``. Times are arrival times passed in by the caller (seconds).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.charge_controller.plausible import GRID_W, within
from shared.payload_limits import PayloadRejected, decode_text, parse_json_text

NO_VALUE_WORDS = frozenset({"", "null", "none", "unavailable", "unknown", "nan", "n/a", "-"})
_INDEX = re.compile(r"\[(\d+)\]")


class MeterSource(BaseModel):
    """One topic delivering a power value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1)
    json_path: str | None = Field(None, description="None: the payload is a plain number")
    scale: float = Field(1.0, description="multiply to get W (1000 for kW, 0.001 for mW)")
    invert: bool = Field(False, description="negate (meter counts export as positive)")


class MeterConfig(BaseModel):
    """Net grid power = sum(sources) - sum(export_sources)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[MeterSource] = Field(min_length=1, max_length=6)
    export_sources: list[MeterSource] = Field(default_factory=list, max_length=6)
    max_age_s: float = Field(30.0, gt=0.0, le=3600.0, description="values older are stale")
    period_window: int = Field(20, ge=2, le=1000, description="arrivals used for the period")

    @model_validator(mode="after")
    def _unique_topics(self) -> MeterConfig:
        topics = [s.topic for s in self.sources + self.export_sources]
        if len(set(topics)) != len(topics):
            raise ValueError("each topic may appear only once")
        return self


@dataclass(frozen=True)
class GridSample:
    time: float  # arrival time of the oldest component value (conservative for gating)
    grid_w: float  # > 0 import
    period_s: float | None  # median interval between combined samples, once known


@dataclass(frozen=True)
class MeterResult:
    sample: GridSample | None
    reason: str


def parse_number(value: Any) -> float | None:
    """A finite float from a JSON value or text, or None for "no value"."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range: no usable value
            return None
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() in NO_VALUE_WORDS:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for part in re.split(r"[./]", path):
        if not part:
            continue
        name = _INDEX.sub("", part)
        if name:
            tokens.append(int(name) if name.isdigit() and part == name else name)
        tokens.extend(int(i) for i in _INDEX.findall(part))
    return tokens


def _walk(document: Any, tokens: list[str | int]) -> Any:
    node = document
    for token in tokens:
        if isinstance(token, int) and isinstance(node, list):
            if token >= len(node):
                return None
            node = node[token]
        elif isinstance(node, dict) and str(token) in node:
            node = node[str(token)]
        else:
            return None
    return node


def _find_recursive(node: Any, tokens: list[str | int]) -> Any:
    found = _walk(node, tokens)
    if found is not None:
        return found
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found = _find_recursive(child, tokens)
        if found is not None:
            return found
    return None


def extract_value(payload: bytes | bytearray, json_path: str | None) -> float | None:
    """Raw number (before scale/invert) from a payload, or None."""
    try:
        text = decode_text(payload).strip()
        if json_path is None:
            number = parse_number(text)
            if number is None and text.startswith('"'):
                number = parse_number(parse_json_text(text))
            return number
        document = parse_json_text(text)
    except PayloadRejected:
        return None
    path = json_path.strip()
    if path.startswith("$.."):
        return parse_number(_find_recursive(document, _path_tokens(path[3:])))
    if path.startswith("$"):
        path = path[1:]
    return parse_number(_walk(document, _path_tokens(path)))


class MeterInput:
    """Keeps the latest value per topic and combines them into grid samples."""

    def __init__(self, config: MeterConfig) -> None:
        self.config = config
        self._sources: dict[str, tuple[MeterSource, float]] = {
            s.topic: (s, 1.0) for s in config.sources
        }
        self._sources.update({s.topic: (s, -1.0) for s in config.export_sources})
        self._latest: dict[str, tuple[float, float]] = {}  # topic -> (arrival, signed W)
        self._used_since_sample: set[str] = set()
        self._arrivals: deque[float] = deque(maxlen=config.period_window)
        self.last_sample: GridSample | None = None

    @property
    def topics(self) -> list[str]:
        return list(self._sources)

    @property
    def period_s(self) -> float | None:
        if len(self._arrivals) < 2:
            return None
        times = list(self._arrivals)
        return statistics.median(b - a for a, b in zip(times, times[1:], strict=False))

    def is_stale(self, now: float) -> bool:
        last = self.last_sample
        return last is None or now - last.time > self.config.max_age_s

    def ingest(
        self, topic: str, payload: bytes | bytearray, received_at: float, retained: bool = False
    ) -> MeterResult:
        entry = self._sources.get(topic)
        if entry is None:
            return MeterResult(None, f"topic {topic!r} is not a meter source")
        if retained:
            return MeterResult(None, f"retained message on {topic!r} ignored (may be stale)")
        source, sign = entry
        raw = extract_value(payload, source.json_path)
        if raw is None:
            self._latest.pop(topic, None)
            self._used_since_sample.discard(topic)
            return MeterResult(None, f"no value in payload on {topic!r}")
        value = within(raw * source.scale * (-1.0 if source.invert else 1.0) * sign, GRID_W)
        if value is None:
            self._latest.pop(topic, None)
            self._used_since_sample.discard(topic)
            return MeterResult(None, f"implausible value on {topic!r} (beyond {GRID_W[1]:.0f} W)")
        self._latest[topic] = (received_at, value)
        self._used_since_sample.add(topic)

        waiting = [t for t in self._sources if t not in self._used_since_sample]
        if waiting:
            return MeterResult(None, f"waiting for a new value on {', '.join(waiting)}")
        oldest = min(arrival for arrival, _ in self._latest.values())
        if received_at - oldest > self.config.max_age_s:
            return MeterResult(None, f"a component is older than {self.config.max_age_s:.0f} s")
        self._used_since_sample.clear()
        self._arrivals.append(received_at)
        total = sum(value for _, value in self._latest.values())
        sample = GridSample(time=oldest, grid_w=total, period_s=self.period_s)
        self.last_sample = sample
        return MeterResult(sample, f"{len(self._latest)} value(s) combined")
