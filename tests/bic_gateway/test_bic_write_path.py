"""The one validation path and the write decision every write takes (pure): SVR mode, model range,
configured battery window and current limits, reserved bits, read-compare, wear governor."""

from __future__ import annotations

import pytest

from services.bic_gateway.limits import (
    BatteryWindow,
    CurrentLimits,
    OperatingLimits,
    RangePolicy,
    SetpointRejected,
)
from services.bic_gateway.models import MODELS, identify
from services.bic_gateway.wear import WearGovernor, WearPolicy, WriteKind, WriteLedger
from services.bic_gateway.write_path import CAN_CONTROLLED, Action, control_problem, decide_write

BIC48 = identify("BIC-2200-48")
LIMITS = OperatingLimits(BIC48, BatteryWindow(46.0, 56.0))
T0 = 1_760_000_000.0
CAN = 0x0403  # CAN control, power-up ON, EEP_OFF
SVR = 0x0402  # the same with CAN_CTRL = 0


def governor(min_interval_s=26.3, budget=4_000_000) -> WearGovernor:
    return WearGovernor(WriteLedger(), WearPolicy(min_interval_s, budget))


def decide(register, value, current_raw=None, g=None, now=T0, **kw):
    kw.setdefault("eep_off", True)
    kw.setdefault("system_config_raw", CAN)
    return decide_write(LIMITS, register, value, current_raw, g or governor(), now, **kw)


# --- the configured window and current limits ---------------------------------------------------

# register, accepted bounds, one step outside each (value, what the message names)
CONFIGURED = [
    ("VOUT_SET", (46.0, 56.0), [(45.99, "battery window min"), (56.01, "battery window max")]),
    (
        "REVERSE_VOUT_SET",
        (46.0, 56.0),
        [(45.99, "battery window min"), (56.01, "battery window max")],
    ),
    ("IOUT_SET", (0.45, 45.0), [(0.44, "accepts 0.45 A"), (45.01, "accepts 0.45 A .. 45.00 A")]),
    ("REVERSE_IOUT_SET", (0.45, 38.3), [(0.44, "accepts 0.45 A")]),
]


@pytest.mark.parametrize(("register", "bounds", "outside"), CONFIGURED)
def test_configured_bounds_are_accepted_and_one_step_outside_is_refused(register, bounds, outside):
    assert LIMITS.bounds(register) == bounds
    for value in bounds:
        assert LIMITS.check(register, value) == value
    for value, what in outside:
        with pytest.raises(SetpointRejected) as info:
            LIMITS.check(register, value)
        assert what in str(info.value) and info.value.register == register


def test_the_issue_case_cvset_65_is_refused_with_the_window_in_the_message():
    with pytest.raises(SetpointRejected) as info:
        LIMITS.check("VOUT_SET", 65.0)  # inside the model range, above the 56 V window
    assert str(info.value) == (
        "VOUT_SET 65.00 V rejected: outside the configured 46.00 V (battery window min) .. "
        "56.00 V (battery window max)"
    )
    # beyond the model range the model's message comes first
    with pytest.raises(SetpointRejected, match="BIC-2200-48 accepts 38.00 V .. 65.00 V"):
        LIMITS.check("VOUT_SET", 66.0)


def test_configured_current_limits_tighten_the_model():
    limits = OperatingLimits(
        BIC48, BatteryWindow(46.0, 56.0), CurrentLimits(max_charge_a=10, max_discharge_a=5)
    )
    assert limits.bounds("IOUT_SET") == (0.45, 10.0)
    assert limits.bounds("REVERSE_IOUT_SET") == (0.45, 5.0)
    with pytest.raises(SetpointRejected, match="max discharge current"):
        limits.check("REVERSE_IOUT_SET", 5.01)
    assert limits.check("REVERSE_IOUT_SET", 99, policy=RangePolicy.CLAMP) == 5.0
    assert limits.check("IOUT_SET", 0.1, policy=RangePolicy.CLAMP) == 0.45
    configured_min = OperatingLimits(BIC48, BatteryWindow(46, 56), CurrentLimits(min_current_a=2))
    with pytest.raises(SetpointRejected, match=r"2.00 A \(minimum current\)"):
        configured_min.check("IOUT_SET", 1.0)


def test_registers_without_configured_bounds_take_the_model_check_only():
    assert LIMITS.bounds("OPERATION") is None
    assert LIMITS.check("OPERATION", 1) == 1
    with pytest.raises(SetpointRejected):
        LIMITS.check("DIRECTION_CTRL", 2)
    with pytest.raises(SetpointRejected, match="read-only"):
        LIMITS.check("READ_VOUT", 50.0)


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.name)
def test_a_window_the_model_cannot_hold_is_refused_at_construction(model):
    volts = model.setpoint_range("VOUT_SET")
    with pytest.raises(SetpointRejected):
        OperatingLimits(model, BatteryWindow(volts.minimum - 1, volts.maximum))
    with pytest.raises(ValueError):
        OperatingLimits(
            model,
            BatteryWindow(volts.minimum, volts.maximum),
            CurrentLimits(min_current_a=5, max_charge_a=1),
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "56", None, True])
def test_non_numbers_are_refused(value):
    with pytest.raises(SetpointRejected):
        LIMITS.check("VOUT_SET", value)


# --- reserved bits: read-modify-write only ------------------------------------------------------


def test_config_words_must_keep_the_units_reserved_bits():
    unit_word = 0x1205  # a reserved bit (12) set by the firmware, EEPROM 10-min delay
    assert LIMITS.check("SYSTEM_CONFIG", 0x1403, current_raw=unit_word) == 0x1403
    with pytest.raises(SetpointRejected, match="would change reserved bits"):
        LIMITS.check("SYSTEM_CONFIG", 0x0403, current_raw=unit_word)  # clears bit 12
    with pytest.raises(SetpointRejected, match="would change reserved bits"):
        LIMITS.check("SYSTEM_CONFIG", 0x0483, current_raw=0x0003)  # sets bit 7
    with pytest.raises(SetpointRejected, match="EEP_CONFIG 0b11 is reserved"):
        LIMITS.check("SYSTEM_CONFIG", 0x0303, current_raw=0x0003)
    assert LIMITS.check("BIDIRECTIONAL_CONFIG", 0x8001, current_raw=0x8000) == 0x8001
    with pytest.raises(SetpointRejected, match="would change reserved bits"):
        LIMITS.check("BIDIRECTIONAL_CONFIG", 0x0001, current_raw=0x8000)
    # without the unit's word (unknown) no reserved bit may be set
    with pytest.raises(SetpointRejected, match="reserved bits 0x1000 set"):
        LIMITS.check("SYSTEM_CONFIG", 0x1403)


# --- the decision -------------------------------------------------------------------------------


@pytest.mark.parametrize("register", sorted(CAN_CONTROLLED))
def test_svr_mode_refuses_every_can_controlled_write_whatever_the_kind(register):
    value = {"OPERATION": 1, "DIRECTION_CTRL": 1}.get(register, 50.0)
    if register.endswith("IOUT_SET"):
        value = 5.0
    for kind in WriteKind:
        decision = decide(register, value, 0, system_config_raw=SVR, kind=kind)
        assert decision.action is Action.REJECT and "SVR mode" in decision.reason
    assert decide(register, value, 0).action is Action.WRITE  # CAN control: fine


def test_svr_mode_does_not_block_the_config_word_that_ends_it():
    decision = decide("SYSTEM_CONFIG", 0x0003, SVR & 0x0006, system_config_raw=SVR & 0x0006)
    assert decision.action is Action.WRITE


def test_control_problem_needs_a_known_config():
    assert control_problem(None) is None
    assert control_problem(CAN) is None
    assert "SVR mode" in control_problem(0x0002)


def test_out_of_window_is_rejected_and_never_written():
    decision = decide("VOUT_SET", 65.0, 5000)
    assert decision.action is Action.REJECT and "battery window max" in decision.reason
    assert decision.raw is None and decision.value is None


def test_identical_values_are_skipped():
    decision = decide("IOUT_SET", 5.0, 500, eep_off=False)
    assert decision.action is Action.SKIP and decision.raw == 500


def test_writes_within_the_units_interval_are_held_not_refused():
    g = governor()
    g.record("OPERATION", T0, eep_off=False)
    decision = decide("IOUT_SET", 6.0, 500, g, T0 + 10, eep_off=False)
    assert decision.action is Action.DEFER and "next in 16.3 s" in decision.reason
    assert decision.value == 6.0 and decision.raw == 600
    assert decide("IOUT_SET", 6.0, 500, g, T0 + 27, eep_off=False).action is Action.WRITE
    # EEP_OFF: no wear, no interval; safety bypasses it; volatile direction never waits
    assert decide("IOUT_SET", 6.0, 500, g, T0 + 10).action is Action.WRITE
    assert decide("DIRECTION_CTRL", 1, 0, g, T0 + 10, eep_off=False).action is Action.WRITE
    safety = decide("IOUT_SET", 6.0, 500, g, T0 + 10, eep_off=False, kind=WriteKind.SAFETY)
    assert safety.action is Action.WRITE


def test_cli_and_home_assistant_get_no_bypass_of_the_interval():
    g = governor()
    g.record("OPERATION", T0, eep_off=True)
    assert decide("OPERATION", 0, 1, g, T0 + 1).action is Action.DEFER


def test_budget_used_up_refuses_routine_writes_but_not_safety():
    g = governor(budget=1)
    g.record("OPERATION", 0.0, eep_off=True)
    decision = decide("OPERATION", 0, 1, g, 1e10)
    assert decision.action is Action.REJECT and "budget used up" in decision.reason
    assert decide("OPERATION", 0, 1, g, 1e10, kind=WriteKind.SAFETY).action is Action.WRITE
