"""The charge controller's recent decisions, collected from its retained state. No I/O."""

from __future__ import annotations

from collections import deque
from typing import Any


class DecisionLog:
    """The last `size` distinct decisions (setpoint + reason), newest first."""

    def __init__(self, size: int = 20) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def observe(self, state: Any) -> bool:
        """Record the state's `last_decision` if it differs from the latest; True if recorded."""
        if not isinstance(state, dict) or not isinstance(state.get("last_decision"), dict):
            return False
        decision = state["last_decision"]
        entry = {
            "time": state.get("time"),
            "setpoint_w": decision.get("setpoint_w"),
            "reason": decision.get("reason"),
        }
        latest = self._entries[0] if self._entries else None
        if latest and (latest["setpoint_w"], latest["reason"]) == (
            entry["setpoint_w"],
            entry["reason"],
        ):
            return False
        self._entries.appendleft(entry)
        return True

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)
