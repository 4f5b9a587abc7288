"""Per-unit availability: `online` only while the unit answers (pure, explicit outcomes)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract.status import OFFLINE, ONLINE


@dataclass
class Availability:
    offline_after_failures: int = 2
    state: str = OFFLINE
    failures: int = 0

    def answered(self) -> str | None:
        """Record a successful exchange; returns the new state if it changed."""
        self.failures = 0
        return self._set(ONLINE)

    def failed(self) -> str | None:
        """Record a poll without an answer; returns the new state if it changed."""
        self.failures += 1
        if self.failures >= self.offline_after_failures:
            return self._set(OFFLINE)
        return None

    def _set(self, state: str) -> str | None:
        if state == self.state:
            return None
        self.state = state
        return state

    @property
    def online(self) -> bool:
        return self.state == ONLINE
