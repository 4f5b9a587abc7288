"""The pure decision classes of the gateway: pacing, watchdog, schedule, availability (writes:
tests/bic_gateway/test_bic_write_path.py)."""

from __future__ import annotations

import pytest

from services.bic_gateway.availability import Availability
from services.bic_gateway.pacing import Pacer
from services.bic_gateway.scheduler import (
    CONFIG_REGISTERS,
    MEASUREMENT_REGISTERS,
    STATUS_REGISTERS,
    PollScheduler,
    poll_groups,
)
from services.bic_gateway.watchdog import Watchdog
from shared.contract.status import OFFLINE, ONLINE


def test_pacer_keeps_20_ms_per_unit_and_5_ms_after_a_response():
    pacer = Pacer()
    assert pacer.delay(0, 10.0) == 0
    pacer.sent(0, 10.0)
    assert pacer.delay(0, 10.005) == pytest.approx(0.015)
    assert pacer.delay(1, 10.005) == 0  # another unit is independent
    pacer.answered(10.003)
    assert pacer.delay(1, 10.004) == pytest.approx(0.004)
    assert pacer.delay(0, 10.020) == 0


def test_pacer_broadcast_counts_for_every_unit():
    pacer = Pacer()
    pacer.sent(3, 1.0)
    assert pacer.delay(None, 1.01) == pytest.approx(0.01)
    pacer.sent(None, 1.02)
    assert pacer.delay(5, 1.03) == pytest.approx(0.01)


def test_watchdog_trips_once_after_the_timeout_and_rearms_on_refresh():
    dog = Watchdog(timeout_s=30, last_refresh=100.0)
    assert dog.check(129.9) is None
    assert dog.next_check(120.0) == pytest.approx(10.0)
    reason = dog.check(130.0)
    assert reason and "no setpoint for 30.0 s" in reason and dog.tripped
    assert dog.check(200.0) is None  # once, not every loop (EEPROM wear)
    assert dog.next_check(200.0) == float("inf")
    dog.refresh(201.0)
    assert not dog.tripped and dog.check(230.0) is None and dog.check(231.0)


def test_watchdog_trips_at_once_when_the_controller_is_offline():
    dog = Watchdog(timeout_s=30, last_refresh=0.0)
    dog.controller_status("online")
    assert dog.check(1.0) is None
    dog.controller_status("offline")
    assert dog.check(1.0) == "controller is offline"
    dog.refresh(2.0)
    assert dog.check(2.0) == "controller is offline"  # still offline: stays idle


def test_watchdog_zero_timeout_is_off():
    dog = Watchdog(timeout_s=0, last_refresh=0.0)
    assert dog.check(1e9) is None


def test_scheduler_polls_each_group_at_its_own_cadence_without_bursts():
    sched = PollScheduler(poll_groups(1.0, 10.0, 60.0))
    everything = list(MEASUREMENT_REGISTERS + STATUS_REGISTERS + CONFIG_REGISTERS)
    assert sched.due(0.0) == everything
    assert sched.due(0.5) == []
    assert sched.seconds_until_due(0.5) == pytest.approx(0.5)
    assert sched.due(1.0) == list(MEASUREMENT_REGISTERS)
    assert sched.due(10.0) == list(MEASUREMENT_REGISTERS + STATUS_REGISTERS)
    assert sched.due(60.0) == everything
    assert sched.due(200.0) == everything  # after a stall: once, not a burst per missed period
    assert sched.due(200.5) == []
    assert sched.seconds_until_due(200.5) == pytest.approx(0.5)
    sched.unsupported.update({"READ_FAN_SPEED_1", "READ_FAN_SPEED_2"})
    assert "READ_FAN_SPEED_1" not in sched.due(210.0)
    assert sched.due(210.5) == []
    sched.reset()  # the unit came back: everything at once
    assert set(sched.due(210.5)) == set(everything) - {"READ_FAN_SPEED_1", "READ_FAN_SPEED_2"}
    assert sched.requests_per_second() == pytest.approx(2 / 1.0 + 10 / 10.0 + 2 / 60.0)


def test_default_schedule_polls_every_register_the_state_needs_and_nothing_twice():
    from services.bic_gateway.registers import resolve

    registers = MEASUREMENT_REGISTERS + STATUS_REGISTERS + CONFIG_REGISTERS
    assert len(set(registers)) == len(registers)
    for name in registers:
        resolve(name)  # every name is in the register table
    # what the state payload and the setpoint path read from the cache
    for needed in ("READ_VOUT", "READ_IOUT", "FAULT_STATUS", "SYSTEM_STATUS", "VOUT_SET",
                   "IOUT_SET", "REVERSE_VOUT_SET", "REVERSE_IOUT_SET", "DIRECTION_CTRL",
                   "OPERATION", "SYSTEM_CONFIG", "BIDIRECTIONAL_CONFIG"):  # fmt: skip
        assert needed in registers


def test_availability_goes_offline_after_n_failures_and_back_on_an_answer():
    avail = Availability(offline_after_failures=2)
    assert avail.answered() == ONLINE
    assert avail.answered() is None
    assert avail.failed() is None
    assert avail.failed() == OFFLINE
    assert avail.failed() is None
    assert avail.answered() == ONLINE
