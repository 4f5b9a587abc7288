"""Setpoint watchdog as pure logic; the unit itself has none.

docs/protocol-bic2200.md#protections-and-fail-safe

Trips (once) when no setpoint refresh arrived within ``timeout_s`` or when the controller says
it is offline. A trip asks the gateway to drive the unit to safe idle; the next setpoint re-arms
it. Starting the gateway counts as a refresh, so a unit left with a large setpoint by a dead
controller is idled ``timeout_s`` after start-up at the latest.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract.status import is_offline


@dataclass
class Watchdog:
    timeout_s: float
    last_refresh: float
    tripped: bool = False
    controller_offline: bool = False
    reason: str = ""

    def refresh(self, now: float) -> None:
        self.last_refresh = now
        self.tripped = False
        self.reason = ""

    def controller_status(self, status: str) -> None:
        self.controller_offline = is_offline(status)

    def check(self, now: float) -> str | None:
        """The trip reason the first time the watchdog trips, else None."""
        if self.tripped:
            return None
        if self.controller_offline:
            reason = "controller is offline"
        elif self.timeout_s > 0 and now - self.last_refresh >= self.timeout_s:
            silent = now - self.last_refresh
            reason = f"no setpoint for {silent:.1f} s (timeout {self.timeout_s:g} s)"
        else:
            return None
        self.tripped = True
        self.reason = reason
        return reason

    def next_check(self, now: float) -> float:
        """Seconds until the timeout could expire (for the caller's sleep)."""
        if self.tripped or self.timeout_s <= 0:
            return float("inf")
        return max(0.0, self.last_refresh + self.timeout_s - now)
