"""Latest retained state of vehicles, BIC units and the controller, as the API serves it. No I/O."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from services.api.bounded_map import BoundedMap
from shared.heartbeat import iso_now

#: entries per kind (units, vehicles): far more than a home has; further names are refused
MAX_KEYS = 32


@dataclass
class _Entry:
    data: Any
    at: float  # monotonic receive time
    received: str  # wall-clock receive time, ISO 8601


class StateCache:
    """`kind` (vehicles, bic, controller) -> key (vehicle name, unit, part) -> latest JSON."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._data: dict[str, BoundedMap] = {}

    def update(self, kind: str, key: str, data: Any, now: float) -> None:
        entry = _Entry(data, now, iso_now())
        with self._lock:
            entries = self._data.get(kind)
            if entries is None:
                entries = self._data[kind] = BoundedMap(self._max_keys)
            entries[key] = entry

    def clear(self, kind: str, key: str) -> None:
        """An empty retained payload removed the value (e.g. it expired or was deleted)."""
        with self._lock:
            entries = self._data.get(kind)
            if entries is not None:
                entries.pop(key, None)

    def view(self, kind: str, now: float) -> dict[str, dict[str, Any]]:
        with self._lock:
            entries = dict(self._data.get(kind, {}))
        return {
            key: {"value": e.data, "received": e.received, "age_s": round(now - e.at, 1)}
            for key, e in sorted(entries.items())
        }
