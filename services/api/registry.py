"""What the API knows of every service, from their status and heartbeat topics. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.api.bounded_map import BoundedMap
from shared.contract.status import ONLINE
from shared.heartbeat import iso_now
from shared.payload_limits import excerpt

#: services tracked at most (the stack has eight). When full, a name that never sent a heartbeat
#: makes room (least recently seen first); a service that heartbeats is never pushed out, even
#: while a flood of statuses makes it look offline.
MAX_SERVICES = 32


@dataclass
class ServiceEntry:
    status: str | None = None  # "online" / "offline" as the service (or its will) said
    status_at: float | None = None  # monotonic receive time
    heartbeat: dict[str, Any] | None = None
    heartbeat_at: float | None = None
    heartbeat_wall: str | None = None


class ServiceRegistry:
    """Status + heartbeat per service; decides up/down/stale at read time."""

    def __init__(self, stale_after_missed: int, expected: list[str] | None = None) -> None:
        self.stale_after_missed = stale_after_missed
        expected = expected or []

        def may_drop(name: str, entry: ServiceEntry) -> bool:
            # every real service heartbeats: a name that never did is a stray status message
            return name not in expected and entry.heartbeat is None

        self._entries = BoundedMap(max(MAX_SERVICES, len(expected) + 1), may_drop)
        for name in expected:
            self._entries[name] = ServiceEntry()

    def on_status(self, service: str, payload: str, now: float) -> None:
        entry = self._touch(service)
        if entry is None:
            return
        entry.status = excerpt(payload.strip(), 40) or None
        entry.status_at = now

    def on_heartbeat(self, service: str, data: Any, now: float) -> bool:
        """Record a heartbeat; returns False (and ignores it) if it is not a JSON object."""
        if not isinstance(data, dict):
            return False
        entry = self._touch(service)
        if entry is None:
            return True  # a valid heartbeat of a service there is no room for
        entry.heartbeat = data
        entry.heartbeat_at = now
        entry.heartbeat_wall = iso_now()
        return True

    def _touch(self, service: str) -> ServiceEntry | None:
        """The entry of `service`, made most recent (created if there is room)."""
        entry = self._entries.setdefault(service, ServiceEntry())
        if entry is not None:
            self._entries.move_to_end(service)
        return entry

    def snapshot(self, now: float) -> dict[str, dict[str, Any]]:
        return {name: self._describe(entry, now) for name, entry in sorted(self._entries.items())}

    def _describe(self, entry: ServiceEntry, now: float) -> dict[str, Any]:
        hb = entry.heartbeat or {}
        interval = hb.get("interval_s")
        age = None if entry.heartbeat_at is None else round(now - entry.heartbeat_at, 1)
        stale = (
            age is None
            or not isinstance(interval, int | float)
            or age > interval * self.stale_after_missed
        )
        online = entry.status == ONLINE
        problem = hb.get("problem") if not stale else None
        if not isinstance(problem, str) or not problem:
            problem = None
        if not online:
            reason = "never seen" if entry.status is None else f"status is {entry.status!r}"
        elif stale:
            reason = (
                "no heartbeat yet"
                if age is None
                else f"no heartbeat for {age} s (> {self.stale_after_missed} intervals)"
            )
        elif problem is not None:
            reason = f"failing: {problem}"
        else:
            reason = None
        return {
            "up": online and not stale and problem is None,
            "status": entry.status,
            "reason": reason,
            "problem": problem,  # the service's own word that it cannot do its job
            "version": hb.get("version"),
            "uptime_s": hb.get("uptime_s"),
            "last_activity": hb.get("last_activity"),
            "last_error": hb.get("last_error"),
            "last_heartbeat": entry.heartbeat_wall,
            "heartbeat_age_s": age,
            "heartbeat_interval_s": interval,
        }
