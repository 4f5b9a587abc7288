"""A lasting problem in the log: its cause once, then a reminder every ``every_s`` with a count.

A service that retries something every few seconds (opening a CAN interface, reaching a meter)
would otherwise log the same error forever. ``Reminder.occurred`` is the pure decision (the
clock is passed in); ``Reminder.log`` applies it to a structlog logger::

    reminder = Reminder(every_s=600)
    ...
    reminder.log(log.error, "can_bus_unavailable", str(exc), time.monotonic(), channel="can0")
    ...
    reminder.resolved(log.info, "can_bus_open")   # logged only if there was a problem

A new cause is logged at once (and starts a new count); the same cause again is counted and
reported with the next reminder: ``repeated`` (occurrences since the last line), ``total``
and ``for_s`` (since the cause first occurred).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REMINDER_INTERVAL_S = 600.0


@dataclass(frozen=True)
class Report:
    first: bool  # the first line for this cause
    repeated: int  # occurrences since the previous line (1 on the first)
    total: int  # occurrences of this cause so far
    for_s: float  # seconds since this cause first occurred


@dataclass
class Reminder:
    every_s: float = REMINDER_INTERVAL_S
    cause: str | None = None
    total: int = 0
    _since: float = 0.0
    _logged_at: float = 0.0
    _unreported: int = 0

    def occurred(self, cause: str, now: float) -> Report | None:
        """Count one occurrence; a Report when a line is due now, else None."""
        if cause != self.cause:
            self.cause, self.total, self._since = cause, 1, now
            self._logged_at, self._unreported = now, 0
            return Report(first=True, repeated=1, total=1, for_s=0.0)
        self.total += 1
        self._unreported += 1
        if now - self._logged_at < self.every_s:
            return None
        report = Report(False, self._unreported, self.total, round(now - self._since, 1))
        self._logged_at, self._unreported = now, 0
        return report

    def clear(self) -> int:
        """The problem is gone: forget the cause; returns how often it occurred (0: none)."""
        total = self.total if self.cause is not None else 0
        self.cause, self.total, self._unreported = None, 0, 0
        return total

    def log(
        self, emit: Callable[..., object], event: str, cause: str, now: float, **fields: object
    ) -> bool:
        """Count ``cause`` and emit ``event`` when a line is due; True if it emitted."""
        report = self.occurred(cause, now)
        if report is None:
            return False
        if report.first:
            emit(event, reason=cause, next_reminder_s=self.every_s, **fields)
        else:
            emit(
                event,
                reason=cause,
                reminder=True,
                repeated=report.repeated,
                total=report.total,
                for_s=report.for_s,
                next_reminder_s=self.every_s,
                **fields,
            )
        return True

    def resolved(self, emit: Callable[..., object], event: str, **fields: object) -> bool:
        """Forget the cause; emit ``event`` with the final count if there was a problem."""
        cause = self.cause
        total = self.clear()
        if not total:
            return False
        emit(event, resolved=cause, total=total, **fields)
        return True
