"""The simulated car and adapter state, changed by settings and by `set` commands.

Pure (explicit `now`): SoC drifting at a rate, awake/asleep, and the ways a reply can
be disturbed (silence, a wrong sequence number, batching, unrelated bus traffic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMMAND_FIELDS = {
    "awake": bool,
    "silent": bool,
    "soc": float,
    "soc_rate_per_h": float,
    "corrupt_transfers": int,
    "frames_per_message": int,
    "noise_frames": int,
}


@dataclass
class CarState:
    soc: float
    soc_rate_per_h: float = 0.0
    awake: bool = True
    silent: bool = False
    corrupt_transfers: int = 0
    frames_per_message: int = 1
    noise_frames: int = 0
    since: float = 0.0  # when `soc` was set

    def soc_at(self, now: float) -> float:
        drift = self.soc_rate_per_h * (now - self.since) / 3600.0
        return min(100.0, max(0.0, self.soc + drift))

    def apply(self, command: Any, now: float) -> list[str]:
        """Apply a `set` command like {"soc": 42, "awake": false}; returns what changed."""
        if not isinstance(command, dict):
            raise ValueError("a set command must be a JSON object")
        unknown = sorted(set(command) - set(COMMAND_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; use {sorted(COMMAND_FIELDS)}")
        values = {}
        for name, kind in COMMAND_FIELDS.items():
            if name not in command:
                continue
            value = command[name]
            if kind is bool and not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            if kind is not bool and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{name} must be a number")
            values[name] = kind(value)
        if "soc" in values and not 0 <= values["soc"] <= 100:
            raise ValueError("soc must be 0..100")
        if "frames_per_message" in values and not 1 <= values["frames_per_message"] <= 16:
            raise ValueError("frames_per_message must be 1..16")
        for name in ("corrupt_transfers", "noise_frames"):
            if values.get(name, 0) < 0:
                raise ValueError(f"{name} must not be negative")
        if "soc" in values or "soc_rate_per_h" in values:
            self.soc, self.since = self.soc_at(now), now
        for name, value in values.items():
            setattr(self, name, value)
        return sorted(values)

    def take_corruption(self) -> bool:
        """True (once per transfer) while corrupt transfers are left."""
        if self.corrupt_transfers <= 0:
            return False
        self.corrupt_transfers -= 1
        return True


def corrupt(frames: list[bytes]) -> list[bytes]:
    """Break a reply: skip a sequence number (multi-frame) or send a bad PCI (single frame)."""
    if len(frames) >= 3:
        frame = bytearray(frames[2])
        frame[0] = 0x20 | ((frame[0] + 1) & 0x0F)  # SN 2 -> 3
        return [*frames[:2], bytes(frame), *frames[3:]]
    if len(frames) == 2:
        frame = bytearray(frames[1])
        frame[0] = 0x20 | 0x05  # SN 1 expected
        return [frames[0], bytes(frame)]
    frame = bytearray(frames[0])
    frame[0] = 0x00  # single frame with escape length 0: rejected
    return [bytes(frame)]
