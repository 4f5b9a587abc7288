from decimal import Decimal

import pytest

from services.bic_gateway.codec import DOCUMENTED_SCALING, ScalingFactors
from services.bic_gateway.limits import RangePolicy, SetpointRejected, check_setpoint
from services.bic_gateway.models import MODELS, SETPOINT_REGISTERS, identify

BIC48 = identify("BIC-2200-48")
BIC24 = identify("BIC-2200-24")


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.name)
@pytest.mark.parametrize("register", SETPOINT_REGISTERS)
def test_bounds_are_accepted_exactly(model, register):
    allowed = model.setpoint_range(register)
    assert check_setpoint(model, register, allowed.minimum) == allowed.minimum
    assert check_setpoint(model, register, allowed.maximum) == allowed.maximum


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.name)
@pytest.mark.parametrize("register", SETPOINT_REGISTERS)
def test_one_step_outside_is_rejected(model, register):
    allowed = model.setpoint_range(register)
    for value in (allowed.minimum - 0.01, allowed.maximum + 0.01):
        with pytest.raises(SetpointRejected):
            check_setpoint(model, register, value)


def test_rejection_message_states_range_and_unit():
    with pytest.raises(SetpointRejected) as info:
        check_setpoint(BIC48, "VOUT_SET", 70)
    assert str(info.value) == "VOUT_SET 70.00 V rejected: BIC-2200-48 accepts 38.00 V .. 65.00 V"
    assert info.value.register == "VOUT_SET"
    assert info.value.value == 70
    assert info.value.unit == "V"
    assert info.value.value_range == BIC48.setpoint_range("VOUT_SET")


def test_rejection_message_for_current():
    with pytest.raises(SetpointRejected, match=r"0\.90 A \.\. 76\.50 A"):
        check_setpoint(BIC24, "REVERSE_IOUT_SET", 80)


def test_value_inside_range_is_quantised_to_register_resolution():
    assert check_setpoint(BIC48, "IOUT_SET", 12.3456) == 12.35
    assert check_setpoint(BIC48, "IOUT_SET", 0.455) == 0.46
    assert check_setpoint(BIC48, "VOUT_SET", 52) == 52.0


def test_value_just_below_max_does_not_round_out_of_range():
    assert check_setpoint(BIC48, "VOUT_SET", 64.999) == 65.0


def test_reject_is_the_default_policy():
    with pytest.raises(SetpointRejected):
        check_setpoint(BIC48, "IOUT_SET", 0.1)


@pytest.mark.parametrize(
    ("register", "value", "clamped"),
    [
        ("IOUT_SET", 100, 45.0),
        ("IOUT_SET", 0.1, 0.45),
        ("REVERSE_IOUT_SET", 40, 38.3),
        ("VOUT_SET", 30, 38.0),
        ("REVERSE_VOUT_SET", 70.004, 65.0),
    ],
)
def test_clamp_mode_returns_nearest_bound(register, value, clamped):
    assert check_setpoint(BIC48, register, value, policy=RangePolicy.CLAMP) == clamped


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "52", True, None])
@pytest.mark.parametrize("policy", list(RangePolicy))
def test_non_numbers_are_always_rejected(value, policy):
    with pytest.raises(SetpointRejected, match="not a finite number"):
        check_setpoint(BIC48, "VOUT_SET", value, policy=policy)


@pytest.mark.parametrize("register", ["READ_VOUT", "FAULT_STATUS", "MFR_MODEL_B0B5"])
def test_read_only_registers_are_rejected(register):
    with pytest.raises(SetpointRejected, match="read-only"):
        check_setpoint(BIC48, register, 1)


@pytest.mark.parametrize(
    ("register", "value"),
    [("OPERATION", 0), ("OPERATION", 1), ("DIRECTION_CTRL", 0), ("DIRECTION_CTRL", 1)],
)
def test_choices_accept_documented_values(register, value):
    assert check_setpoint(BIC48, register, value) == value


@pytest.mark.parametrize("value", [2, -1, 255, True, 1.0])
@pytest.mark.parametrize("policy", list(RangePolicy))
def test_choices_reject_everything_else_even_in_clamp_mode(value, policy):
    with pytest.raises(SetpointRejected, match="allowed 0 \\(off\\), 1 \\(on\\)"):
        check_setpoint(BIC48, "OPERATION", value, policy=policy)


@pytest.mark.parametrize("raw", [0x0002, 0x0003, 0x0401, 0x0403, 0x0205, 0x0105])
def test_valid_system_configs_pass(raw):
    assert check_setpoint(BIC48, "SYSTEM_CONFIG", raw) == raw


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (0x0007, "OPERATION_INIT 0b11 is reserved"),
        (0x0301, "EEP_CONFIG 0b11 is reserved"),
        (0x0009, "reserved bits 0x0008 set"),
        (0x10000, "16-bit word"),
        (-1, "16-bit word"),
    ],
)
def test_invalid_system_configs_are_rejected(raw, problem):
    with pytest.raises(SetpointRejected, match=problem):
        check_setpoint(BIC48, "SYSTEM_CONFIG", raw)


def test_bidirectional_config():
    assert check_setpoint(BIC48, "BIDIRECTIONAL_CONFIG", 1) == 1
    assert check_setpoint(BIC48, "BIDIRECTIONAL_CONFIG", 0) == 0
    with pytest.raises(SetpointRejected, match="reserved bits 0x0002"):
        check_setpoint(BIC48, "BIDIRECTIONAL_CONFIG", 3)


def test_quantisation_follows_the_units_scaling():
    coarse = ScalingFactors(
        vout=Decimal("0.1"),
        iout=DOCUMENTED_SCALING.iout,
        vin=DOCUMENTED_SCALING.vin,
        fan=DOCUMENTED_SCALING.fan,
        temperature=DOCUMENTED_SCALING.temperature,
    )
    assert check_setpoint(BIC48, "VOUT_SET", 52.16, scaling=coarse) == 52.2
    with pytest.raises(SetpointRejected, match=r"70\.0 V rejected: .* 38\.0 V \.\. 65\.0 V"):
        check_setpoint(BIC48, "VOUT_SET", 70, scaling=coarse)
