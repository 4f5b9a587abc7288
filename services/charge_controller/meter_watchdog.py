"""Meter silence: safe idle after a timeout, resume only after fresh samples (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeterHealth:
    ok: bool
    reason: str


class MeterWatchdog:
    """Feed it the arrival time of every usable grid sample; ask ``health(now)``.

    Before the first sample and after a silence longer than ``timeout_s`` the meter is not ok;
    it becomes ok again once ``resume_samples`` samples arrived, each within ``timeout_s`` of
    the previous one.
    """

    def __init__(self, timeout_s: float = 30.0, resume_samples: int = 3) -> None:
        self.timeout_s = timeout_s
        self.resume_samples = resume_samples
        self.last_sample: float | None = None
        self._streak = 0
        self._ok = False
        self.silences = 0

    def on_sample(self, now: float) -> None:
        if self.last_sample is not None and now - self.last_sample > self.timeout_s:
            self._trip()
        self._streak += 1
        self.last_sample = now
        if self._streak >= self.resume_samples:
            self._ok = True

    def _trip(self) -> None:
        if self._ok:
            self.silences += 1
        self._ok = False
        self._streak = 0

    def health(self, now: float) -> MeterHealth:
        if self.last_sample is None:
            return MeterHealth(False, "no meter sample yet")
        silent = now - self.last_sample
        if silent > self.timeout_s:
            self._trip()
            return MeterHealth(
                False, f"meter silent for {silent:.0f} s (> {self.timeout_s:g} s): safe idle"
            )
        if not self._ok:
            return MeterHealth(
                False,
                f"meter back: {self._streak}/{self.resume_samples} fresh samples before resuming",
            )
        return MeterHealth(True, "meter fresh")
