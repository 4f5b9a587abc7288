"""The simulated car and adapter state, changed by settings and by `set` commands.

Pure (explicit `now`): SoC drifting at a rate, the adapter's sleep/wake cycle, and the
ways a reply can be disturbed (silence, a wrong sequence number, batching, bus traffic).

Sleep/wake: the adapter is powered from the car's 12 V battery, which the car's DC-DC
converter keeps high while the car is switched on (`ignition`) or charging (`charging`).
When both stop, the adapter goes to sleep `sleep_after_s` later (about 3 minutes on a
real car); it wakes as soon as either starts again. `awake` forces the state at once:
false = switched off and already asleep, true = switched on.

A sleeping adapter simply drops off WiFi: its broker publishes the retained last will
`offline` only after missing about 1.5 x keep-alive (`offline_delay_s`), so for that long
the status still says online while nothing answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMMAND_FIELDS = {
    "awake": bool,
    "ignition": bool,
    "charging": bool,
    "sleep_after_s": float,
    "offline_delay_s": float,
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
    ignition: bool = True
    charging: bool = False
    sleep_after_s: float = 180.0
    off_since: float | None = None  # when neither ignition nor charging held 12 V up
    offline_delay_s: float = 0.0  # from falling asleep to the broker's last will
    asleep_since: float | None = None
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
        for name in ("sleep_after_s", "offline_delay_s"):
            if values.get(name, 0) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("corrupt_transfers", "noise_frames"):
            if values.get(name, 0) < 0:
                raise ValueError(f"{name} must not be negative")
        if "soc" in values or "soc_rate_per_h" in values:
            self.soc, self.since = self.soc_at(now), now
        for name, value in values.items():
            setattr(self, name, value)
        if "awake" in values:  # forced: the car switched on, or off and asleep already
            self.ignition = values["awake"]
            if not values["awake"]:
                self.charging = False
        self.track_power(now)
        self._track_sleep(now)
        return sorted(values)

    def _track_sleep(self, now: float) -> None:
        if self.awake:
            self.asleep_since = None
        elif self.asleep_since is None:
            self.asleep_since = now

    def status_online(self, now: float) -> bool:
        """What the adapter's status topic says: online until the last will is out."""
        if self.awake:
            return True
        return self.asleep_since is not None and now - self.asleep_since < self.offline_delay_s

    def track_power(self, now: float) -> None:
        if self.ignition or self.charging:
            self.off_since = None
        elif self.off_since is None:
            self.off_since = now

    def tick(self, now: float) -> bool:
        """Advance the sleep/wake cycle; True if the adapter fell asleep or woke."""
        powered = self.ignition or self.charging
        if powered and not self.awake:
            self.awake = True
            self._track_sleep(now)
            return True
        if (
            not powered
            and self.awake
            and self.off_since is not None
            and now - self.off_since >= self.sleep_after_s
        ):
            self.awake = False
            self._track_sleep(now)
            return True
        return False

    def take_corruption(self) -> bool:
        """True (once per transfer) while corrupt transfers are left."""
        if self.corrupt_transfers <= 0:
            return False
        self.corrupt_transfers -= 1
        return True
