"""Time-of-day profiles and the discharge block after charging (pure).

A profile applies from ``start`` (inclusive) to ``end`` (exclusive) local time; ``end`` before
``start`` wraps over midnight, ``start == end`` is the whole day. The first matching profile
wins; a field it leaves out (None) comes from the schedule's defaults. Example::

    schedule:
      max_charge_w: 2200
      max_discharge_w: 1700
      profiles:
        - {name: night, start: "22:00", end: "06:00", max_discharge_w: 600, target_w: 20}
        - {name: peak, start: "17:00", end: "21:00", discharge_block_s: 0}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

_T = TypeVar("_T")


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("profile", min_length=1, max_length=40)
    start: time
    end: time
    max_charge_w: float | None = Field(None, ge=0, le=50000)
    max_discharge_w: float | None = Field(None, ge=0, le=50000)
    target_w: float | None = Field(None, ge=-5000, le=5000, description="grid target/offset")
    discharge_block_s: float | None = Field(None, ge=0, le=86400)

    def covers(self, now: time) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


class ScheduleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_charge_w: float = Field(2200.0, ge=0, le=50000, description="outside any profile")
    #: 1600 W AC = 1720 W DC = 37.4 A at 46 V, inside the BIC-2200-48's discharge current limit
    max_discharge_w: float = Field(1600.0, ge=0, le=50000, description="outside any profile")
    target_w: float | None = Field(None, ge=-5000, le=5000, description="None: control.target_w")
    discharge_block_s: float = Field(
        0.0, ge=0, le=86400, description="no discharge for this long after charging (0 = off)"
    )
    profiles: tuple[Profile, ...] = Field((), max_length=48)


@dataclass(frozen=True)
class ActiveProfile:
    name: str
    max_charge_w: float
    max_discharge_w: float
    target_w: float | None
    discharge_block_s: float


def active_profile(schedule: ScheduleSettings, now: time) -> ActiveProfile:
    """The profile in force at local time ``now`` (``default`` when none matches)."""
    for profile in schedule.profiles:
        if profile.covers(now):

            def pick(value: _T | None, default: _T) -> _T:
                return default if value is None else value

            return ActiveProfile(
                name=profile.name,
                max_charge_w=pick(profile.max_charge_w, schedule.max_charge_w),
                max_discharge_w=pick(profile.max_discharge_w, schedule.max_discharge_w),
                target_w=pick(profile.target_w, schedule.target_w),
                discharge_block_s=pick(profile.discharge_block_s, schedule.discharge_block_s),
            )
    return ActiveProfile(
        "default",
        schedule.max_charge_w,
        schedule.max_discharge_w,
        schedule.target_w,
        schedule.discharge_block_s,
    )


class DischargeBlock:
    """Forbids discharging for ``block_s`` after the last charging setpoint (skip kettle bursts)."""

    def __init__(self) -> None:
        self.last_charge_time: float | None = None

    def note_setpoint(self, now: float, setpoint_w: float) -> None:
        if setpoint_w > 0:
            self.last_charge_time = now

    def remaining_s(self, now: float, block_s: float) -> float:
        if block_s <= 0 or self.last_charge_time is None:
            return 0.0
        return max(0.0, self.last_charge_time + block_s - now)
