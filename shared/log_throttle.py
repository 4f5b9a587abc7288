"""Repeated log lines, rate-limited: once per cause, then a reminder with a count. No I/O.

A service that sees the same problem on every message (an unreadable payload every second, a
flood of hostile commands) should say so once, then every ``reminder_s`` say how often it
happened since. A different cause is logged at once. Every service uses these two:

* ``LogThrottle``: the decision per (key, cause), with counts (refused payloads per
  subscription, warnings about an input); bounded: past ``max_keys`` every new key shares one
  slot, and with ``forget_s`` a cause quiet that long starts afresh (and is forgotten).
* ``MessageThrottle``: the same, thread-safe, for error messages: messages that differ only in
  their numbers (``setpoint +900 W ...`` / ``setpoint +901 W ...``) are one cause.

A lasting problem with an end (a CAN interface that does not open, then does) is told by
``shared.log_reminder.Reminder``, which also says when it is resolved.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

#: the slot every new (key, cause) shares once ``max_keys`` are known (causes may be open-ended)
OVERFLOW = ("*", "*")


@dataclass
class _Slot:
    count: int = 0  # occurrences so far
    logged_count: int = 0  # ``count`` when the last line was logged
    logged_at: float | None = None
    last_at: float = 0.0


@dataclass(frozen=True)
class Verdict:
    log: bool
    #: occurrences not logged since the cause was last logged (0 on the first line)
    repeated: int = 0


class LogThrottle:
    def __init__(
        self, reminder_s: float = 600.0, forget_s: float | None = None, max_keys: int = 256
    ) -> None:
        if reminder_s <= 0 or (forget_s is not None and forget_s < reminder_s) or max_keys < 1:
            raise ValueError("need 0 < reminder_s <= forget_s and max_keys >= 1")
        self.reminder_s = reminder_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str], _Slot] = {}

    def check(self, key: str, cause: str, now: float) -> Verdict:
        """Count one occurrence of ``cause`` under ``key``: whether to log it now, and how many
        were held back before it."""
        slot_key = (key, cause)
        slot = self._seen.get(slot_key)
        if slot is None:
            self._prune(now)
            if len(self._seen) >= self.max_keys:
                slot_key = OVERFLOW
            slot = self._seen.setdefault(slot_key, _Slot())
        if self.forget_s is not None and now - slot.last_at >= self.forget_s:
            slot.logged_at, slot.logged_count = None, slot.count  # a new streak
        slot.count += 1
        slot.last_at = now
        if slot.logged_at is not None and now - slot.logged_at < self.reminder_s:
            return Verdict(False)
        repeated = slot.count - 1 - slot.logged_count
        slot.logged_at, slot.logged_count = now, slot.count
        return Verdict(True, repeated)

    @property
    def counts(self) -> dict[tuple[str, str], int]:
        """Occurrences per (key, cause) still known (``OVERFLOW`` pools the rest)."""
        return {key: slot.count for key, slot in self._seen.items()}

    @property
    def total(self) -> int:
        return sum(slot.count for slot in self._seen.values())

    def _prune(self, now: float) -> None:
        if self.forget_s is None:
            return
        forget_s = self.forget_s
        for key in [k for k, s in self._seen.items() if now - s.last_at >= forget_s]:
            del self._seen[key]


_NUMBERS = re.compile(r"[-+]?\d[\d.]*(?:[eE][-+]?\d+)?")


class MessageThrottle:
    """A thread-safe ``LogThrottle`` for error messages: those that differ only in their
    numbers are one cause, logged once, then counted."""

    def __init__(self, reminder_s: float = 600.0) -> None:
        self._throttle = LogThrottle(reminder_s)
        self._lock = threading.Lock()

    def admit(self, key: str, message: str, now: float) -> int | None:
        """None to stay quiet, else how many of this kind were held back since the last line."""
        kind = _NUMBERS.sub("#", message)[:60]
        with self._lock:
            verdict = self._throttle.check(key, kind, now)
        return verdict.repeated if verdict.log else None
