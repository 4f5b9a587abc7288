"""When to ask one vehicle for its values: pure decisions with an explicit `now`.

- `online` -> request at once; while online, again every poll interval after an answer;
- `offline` -> stop;
- at most one request in flight; no answer within `answer_timeout_s` counts as a failure
  and the next attempt waits `retry_initial_s`, doubling per failure up to `retry_max_s`;
- requests are never closer together than `min_gap_s` (a flapping adapter cannot flood).

An answer is learnt from wican-soc's state topic, not from the adapter, because a
retained `online` may be stale: only a decoded reply proves the car is awake.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollTiming:
    poll_interval_s: float
    answer_timeout_s: float = 3.0
    retry_initial_s: float = 5.0
    retry_max_s: float = 300.0
    min_gap_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("poll_interval_s", "answer_timeout_s", "retry_initial_s", "retry_max_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.min_gap_s < 0:
            raise ValueError("min_gap_s must not be negative")
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be at least retry_initial_s")


class PollScheduler:
    """The request schedule of one vehicle."""

    def __init__(self, timing: PollTiming) -> None:
        self.timing = timing
        self.online = False
        self.failures = 0  # unanswered requests in a row
        self.requests = 0  # requests sent since the last `online`
        self._due: float | None = None
        self._in_flight_since: float | None = None
        self._last_sent: float | None = None

    @property
    def in_flight(self) -> bool:
        return self._in_flight_since is not None

    def set_online(self, online: bool, now: float) -> None:
        """The adapter's status changed (or was repeated, e.g. after a reconnect)."""
        if not online:
            self.online = False
            self._due = None
            self._in_flight_since = None
            return
        if not self.online:
            self.online = True
            self.failures = 0
            self.requests = 0
        if not self.in_flight:
            self._due = self._not_too_soon(now)

    def on_answer(self, now: float) -> None:
        """wican-soc decoded a reply: next request one poll interval from now."""
        self._in_flight_since = None
        self.failures = 0
        self._due = now + self.timing.poll_interval_s if self.online else None

    def poll(self, now: float) -> bool:
        """True when a request must be sent now (it is then in flight)."""
        if not self.online:
            return False
        if self._in_flight_since is not None:
            if now - self._in_flight_since < self.timing.answer_timeout_s:
                return False
            self._in_flight_since = None
            self.failures += 1
            self._due = now + self.backoff()
        if self._due is None or now < self._due:
            return False
        self._in_flight_since = now
        self._last_sent = now
        self._due = None
        self.requests += 1
        return True

    def backoff(self) -> float:
        """Wait before the next attempt after `failures` unanswered requests."""
        if self.failures == 0:
            return 0.0
        t = self.timing
        return min(t.retry_max_s, t.retry_initial_s * 2 ** min(self.failures - 1, 32))

    def next_event_in(self, now: float) -> float | None:
        """Seconds until `poll` may change something (None: only a message can)."""
        if not self.online:
            return None
        if self._in_flight_since is not None:
            return max(0.0, self._in_flight_since + self.timing.answer_timeout_s - now)
        if self._due is None:
            return None
        return max(0.0, self._due - now)

    def _not_too_soon(self, now: float) -> float:
        if self._last_sent is None:
            return now
        return max(now, self._last_sent + self.timing.min_gap_s)
