from datetime import time

import pytest
from pydantic import ValidationError

from services.charge_controller.schedules import (
    DischargeBlock,
    Profile,
    ScheduleSettings,
    active_profile,
)

SCHEDULE = ScheduleSettings(
    max_charge_w=2000,
    max_discharge_w=1500,
    discharge_block_s=60,
    profiles=[
        Profile(name="night", start="22:00", end="06:00", max_discharge_w=500, target_w=20),
        Profile(name="peak", start="17:00", end="21:00", max_charge_w=0, discharge_block_s=0),
    ],
)


@pytest.mark.parametrize(
    ("clock", "name", "charge", "discharge", "target", "block"),
    [
        (time(12, 0), "default", 2000, 1500, None, 60),
        (time(17, 0), "peak", 0, 1500, None, 0),
        (time(20, 59), "peak", 0, 1500, None, 0),
        (time(21, 0), "default", 2000, 1500, None, 60),
        (time(23, 30), "night", 2000, 500, 20, 60),
        (time(0, 0), "night", 2000, 500, 20, 60),
        (time(5, 59), "night", 2000, 500, 20, 60),
        (time(6, 0), "default", 2000, 1500, None, 60),
    ],
)
def test_profile_switching_by_time_of_day(clock, name, charge, discharge, target, block) -> None:
    active = active_profile(SCHEDULE, clock)
    assert (active.name, active.max_charge_w, active.max_discharge_w) == (name, charge, discharge)
    assert (active.target_w, active.discharge_block_s) == (target, block)


def test_first_matching_profile_wins_and_equal_times_mean_all_day() -> None:
    schedule = ScheduleSettings(
        profiles=[
            Profile(name="a", start="10:00", end="12:00", max_charge_w=100),
            Profile(name="all", start="00:00", end="00:00", max_charge_w=200),
        ]
    )
    assert active_profile(schedule, time(11)).name == "a"
    assert active_profile(schedule, time(3)).name == "all"


def test_profile_validation() -> None:
    with pytest.raises(ValidationError):
        Profile(start="25:00", end="06:00")
    with pytest.raises(ValidationError):
        Profile(start="01:00", end="06:00", max_charge_w=-1)


def test_discharge_block_after_charging() -> None:
    block = DischargeBlock()
    assert block.remaining_s(0, 60) == 0
    block.note_setpoint(10, 300)
    block.note_setpoint(20, -100)  # discharging does not extend it
    assert block.remaining_s(30, 60) == pytest.approx(40)
    assert block.remaining_s(70, 60) == 0
    assert block.remaining_s(30, 0) == 0
