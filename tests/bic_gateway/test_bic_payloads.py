"""Command payload parsing, topic names and telemetry payloads (pure)."""

from __future__ import annotations

import pytest

from services.bic_gateway.limits import SetpointRejected
from services.bic_gateway.models import identify
from services.bic_gateway.plans import check_request
from services.bic_gateway.setpoint import CurrentLimits, SetpointUnit
from services.bic_gateway.setpoint_request import (
    SetpointRequest,
    parse_setpoint,
    parse_state,
    too_old,
)
from services.bic_gateway.telemetry import FaultCounter, state_payload
from shared.contract.efficiency import ac_from_dc
from shared.contract.topics import UnitTopics, parse_set_topic

BIC48 = identify("BIC-2200-48")


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("power", b"-800", SetpointRequest(-800.0, SetpointUnit.WATT)),
        ("power", b'{"value": 500, "ts": 12}', SetpointRequest(500.0, SetpointUnit.WATT, 12.0)),
        ("current", b"12.5", SetpointRequest(12.5, SetpointUnit.AMPERE)),
        ("charge", b'{"var":"chargeA","val":-3}', SetpointRequest(-3.0, SetpointUnit.AMPERE)),
        ("charge", b'{"var":"chargeP","val":300}', SetpointRequest(300.0, SetpointUnit.WATT)),
    ],
)
def test_setpoint_payloads_including_the_legacy_bridge(name, payload, expected):
    assert parse_setpoint(name, payload) == expected


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("power", b"NaN"),
        ("power", b'"x"'),
        ("charge", b'{"var":"x","val":1}'),
        ("charge", b'{"var":[1],"val":1}'),  # unhashable: a ValueError, not a TypeError
        ("charge", b'{"var":{"a":1},"val":1}'),
        ("charge", b"[1]"),
        ("power", b""),
    ],
)
def test_bad_setpoint_payloads_say_why(name, payload):
    with pytest.raises(ValueError):
        parse_setpoint(name, payload)


def test_legacy_state_payloads():
    assert [parse_state(p) for p in (b"0", b"1", b"on", b'"off"', b"true")] == [0, 1, 1, 0, 1]
    with pytest.raises(ValueError):
        parse_state(b"2")


def test_old_commands_are_recognised():
    assert too_old(None, 100.0, 10) is None
    assert too_old(95.0, 100.0, 10) is None
    assert "15.0 s old" in too_old(85.0, 100.0, 10)


def test_setpoints_beyond_the_limit_are_rejected_not_clamped():
    check_request(SetpointRequest(-1500, SetpointUnit.WATT), 50.0, BIC48, CurrentLimits())
    with pytest.raises(SetpointRejected, match="discharge maximum 38.30 A"):
        check_request(SetpointRequest(-2000, SetpointUnit.WATT), 50.0, BIC48, CurrentLimits())
    with pytest.raises(SetpointRejected, match="charge maximum 20.00 A"):
        check_request(
            SetpointRequest(21, SetpointUnit.AMPERE), 50.0, BIC48, CurrentLimits(max_charge_a=20)
        )


def test_topics():
    topics = UnitTopics("canbridge", 3)
    assert topics.state == "canbridge/bic/3/state"
    assert topics.set("power") == "canbridge/bic/3/set/power"
    assert topics.value("energy_charged") == "canbridge/bic/3/energy_charged"
    with pytest.raises(AttributeError):
        topics.stat  # noqa: B018 - a typo is an error, not a topic nobody reads
    assert parse_set_topic("canbridge", "canbridge/bic/3/set/power") == (3, "power")
    assert parse_set_topic("home/x", "home/x/bic/0/set/charge") == (0, "charge")
    assert parse_set_topic("canbridge", "canbridge/bic/set/power") is None
    assert parse_set_topic("canbridge", "canbridge/bic/x/set/power") is None


def test_state_payload_signs_and_ac_estimate():
    values = {"READ_VOUT": 50.0, "READ_IOUT": -10.0, "FAULT_STATUS": 0x60, "SYSTEM_STATUS": 0x27,
              "DIRECTION_CTRL": 1, "OPERATION": 1}  # fmt: skip
    state = state_payload(values, 0.93, "t")
    assert state["dc_power"] == -500.0 and state["ac_power"] == -465.0
    assert state["direction"] == "discharge" and state["flags"]["ac_fail"]
    assert state["problems"] == ["ac_fail"]
    assert ac_from_dc(930.0, 0.93) == pytest.approx(1000.0)


def test_fault_counter_counts_rising_edges():
    faults = FaultCounter()
    assert faults.update(0x0000)
    assert faults.update(0x0002) and faults.counts == {"otp": 1}
    assert not faults.update(0x0002)
    faults.update(0x0000)
    faults.update(0x0002)
    payload = faults.payload(2, "t")
    assert payload["flags"]["otp"]["count"] == 2 and payload["flags"]["otp"]["active"]
