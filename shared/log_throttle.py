"""Repeated log lines, rate-limited: once per cause, then a reminder with a count. No I/O.

A service that sees the same problem on every message (an unreadable payload every second)
should say so once, then every ``reminder_s`` say how often it happened since. A different
cause is logged at once; a cause not seen for ``forget_s`` starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Seen:
    logged_at: float
    last_at: float
    suppressed: int = 0


@dataclass(frozen=True)
class Verdict:
    log: bool
    #: occurrences not logged since the cause was last logged (0 on the first line)
    repeated: int = 0


class LogThrottle:
    def __init__(self, reminder_s: float = 300.0, forget_s: float = 3600.0) -> None:
        if reminder_s <= 0 or forget_s < reminder_s:
            raise ValueError("need 0 < reminder_s <= forget_s")
        self.reminder_s = reminder_s
        self.forget_s = forget_s
        self._seen: dict[tuple[str, str], _Seen] = {}

    def check(self, event: str, cause: str, now: float) -> Verdict:
        """Whether to log ``event`` for ``cause`` now, and how many were held back before it."""
        key = (event, cause)
        seen = self._seen.get(key)
        if seen is None or now - seen.last_at >= self.forget_s:
            self._seen[key] = _Seen(now, now)
            self._prune(now)
            return Verdict(True)
        seen.last_at = now
        if now - seen.logged_at >= self.reminder_s:
            repeated, seen.suppressed, seen.logged_at = seen.suppressed, 0, now
            return Verdict(True, repeated)
        seen.suppressed += 1
        return Verdict(False)

    def _prune(self, now: float) -> None:
        for key in [k for k, s in self._seen.items() if now - s.last_at >= self.forget_s]:
            del self._seen[key]
