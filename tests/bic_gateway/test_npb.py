"""NPB chargers in the gateway, pure parts: models and ranges from MFR_MODEL, the family table,
the charge-only planner, limits, CURVE_CONFIG/CHG_STATUS, provisioning plan, HA discovery."""

from __future__ import annotations

import pytest

from services.bic_gateway.charge_plan import ChargePlan, plan_charge
from services.bic_gateway.discovery import power_range, unit_components
from services.bic_gateway.families import BIC, NPB, probe_order
from services.bic_gateway.ledger_store import UnitRecord
from services.bic_gateway.limits import (
    BatteryWindow,
    CurrentLimits,
    OperatingLimits,
    SetpointRejected,
    check_setpoint,
    effective_limits,
)
from services.bic_gateway.models import UnknownModel, identify
from services.bic_gateway.npb_flags import (
    decode_charge_status,
    decode_curve_config,
    with_charger_mode,
)
from services.bic_gateway.npb_models import NPB_MODELS
from services.bic_gateway.npb_provisioning import plan_charger_provisioning
from services.bic_gateway.plans import plan_request, safe_idle_plan
from services.bic_gateway.setpoint import (
    PlanDirection,
    SetpointPlan,
    SetpointUnit,
    validated_request,
)
from services.bic_gateway.setpoint_request import SetpointRequest

WINDOW = BatteryWindow(46.0, 56.0)
NPB48 = identify("NPB-1200-48")

# docs/npb.md#models-and-ranges, restated: model -> (V min, V max, A min, A max)
RANGES = {
    "NPB-450-12": (10.5, 21, 5, 25),
    "NPB-450-24": (21, 42, 2.7, 13.5),
    "NPB-450-48": (42, 80, 1.36, 6.8),
    "NPB-750-12": (10.5, 21, 8.6, 43),
    "NPB-750-24": (21, 42, 4.5, 22.5),
    "NPB-750-48": (42, 80, 2.26, 11.3),
    "NPB-1200-12": (10.5, 17.5, 14, 70),
    "NPB-1200-24": (21, 42, 7.2, 36),
    "NPB-1200-48": (42, 80, 3.6, 18),
    "NPB-1700-12": (10.5, 21, 17, 85),
    "NPB-1700-24": (21, 42, 10, 50),
    "NPB-1700-48": (42, 80, 5, 25),
}


@pytest.mark.parametrize(("name", "expected"), RANGES.items())
def test_every_npb_model_is_identified_with_its_ranges(name, expected):
    model = identify(f"{name.lower()}  \x00")
    v_min, v_max, a_min, a_max = expected
    assert model.name == name and model.family == "NPB" and not model.bidirectional
    volts, amps = model.setpoint_range("VOUT_SET"), model.setpoint_range("IOUT_SET")
    assert (volts.minimum, volts.maximum, amps.minimum, amps.maximum) == expected
    assert model.setpoint_range("CURVE_CC") == amps and model.setpoint_range("CURVE_CV") == volts
    assert model.rated_current_a == a_max
    assert model.has_vin is (not name.startswith(("NPB-450", "NPB-750")))
    # minimum current is ~20 % of the maximum: the reason an NPB switches instead of trickling
    assert 0.19 <= a_min / a_max <= 0.21
    with pytest.raises(KeyError, match="REVERSE_IOUT_SET"):
        model.setpoint_range("REVERSE_IOUT_SET")
    assert model.reverse_trickle_a == 0.0


def test_the_table_holds_exactly_the_reference_models():
    assert set(NPB_MODELS) == set(RANGES)


@pytest.mark.parametrize("text", ["NPB-1200-36", "NPB-2000-48", "NPB-1200"])
def test_unknown_npb_variants_are_refused(text):
    with pytest.raises(UnknownModel, match="NPB-450/750/1200/1700-12/24/48"):
        identify(text)


def test_families_hold_their_own_registers():
    assert NPB.has("CURVE_CONFIG") and NPB.has("chg_status") and NPB.has("IOUT_SET")
    assert not NPB.has("DIRECTION_CTRL") and not NPB.has("READ_FAN_SPEED_1")
    assert not NPB.has("BIDIRECTIONAL_CONFIG") and not NPB.has("REVERSE_IOUT_SET")
    assert BIC.has("DIRECTION_CTRL") and not BIC.has("CURVE_CC")
    assert NPB.ids.request_id(3) == 0x000C0103 and NPB.ids.response_id(3) == 0x000C0003


def test_probe_order_tries_the_configured_family_or_the_last_seen_first():
    assert probe_order("npb") == (NPB,)
    assert probe_order("bic", "npb") == (BIC,)
    assert probe_order("auto") == (BIC, NPB)
    assert probe_order("auto", "npb") == (NPB, BIC)


def test_the_family_seen_at_an_address_survives_a_restart():
    record = UnitRecord(family="npb")
    assert UnitRecord.from_json(record.to_json()).family == "npb"
    older = UnitRecord().to_json()
    del older["family"]  # a state file from before the NPB
    assert UnitRecord.from_json(older).family is None


# --- limits -------------------------------------------------------------------------------


def test_a_charger_has_no_discharge_and_its_minimum_is_large():
    effective = effective_limits(NPB48, CurrentLimits())
    assert (effective.min_a, effective.max_charge_a, effective.max_discharge_a) == (3.6, 18, 0)
    tightened = effective_limits(NPB48, CurrentLimits(max_charge_a=10, min_current_a=5))
    assert (tightened.min_a, tightened.max_charge_a) == (5, 10)
    with pytest.raises(ValueError, match="minimum current 3.6 A exceeds"):
        effective_limits(NPB48, CurrentLimits(max_charge_a=2))


def test_only_the_window_maximum_must_fit_a_charger():
    OperatingLimits(identify("NPB-450-12"), BatteryWindow(10.0, 14.4))  # 10 V < NPB's 10.5 V
    with pytest.raises(SetpointRejected, match="VOUT_SET 28.80 V rejected"):
        OperatingLimits(identify("NPB-450-12"), BatteryWindow(24.0, 28.8))


def test_curve_writes_take_the_same_validation_path():
    limits = OperatingLimits(NPB48, WINDOW)
    assert limits.check("CURVE_CC", 10) == 10
    with pytest.raises(SetpointRejected, match="max charge current"):
        OperatingLimits(NPB48, WINDOW, CurrentLimits(max_charge_a=8)).check("CURVE_CC", 10)
    with pytest.raises(SetpointRejected, match="battery window max"):
        limits.check("CURVE_CV", 57.6)
    assert limits.check("CURVE_CV_TIMEOUT", 600) == 600
    with pytest.raises(SetpointRejected, match="60 min .. 64800 min"):
        check_setpoint(NPB48, "CURVE_CV_TIMEOUT", 30)
    # CURVE_CONFIG keeps its reserved bits (bit 4, bits 12-15)
    assert limits.check("CURVE_CONFIG", 0x0004, current_raw=0x0084) == 0x0004
    with pytest.raises(SetpointRejected, match="reserved bits"):
        limits.check("CURVE_CONFIG", 0x1004, current_raw=0x0084)


# --- the charge-only planner ------------------------------------------------------------------


def charge(setpoint: float, unit: SetpointUnit, battery_v: float) -> ChargePlan:
    request = validated_request(setpoint, unit, battery_v, NPB48, WINDOW)
    return plan_charge(request, battery_v, NPB48)


def test_charge_sets_voltage_current_then_output_on():
    plan = charge(500, SetpointUnit.WATT, 50.0)
    assert plan.direction is PlanDirection.CHARGE and plan.current_a == 10.0
    assert list(plan.register_values().items()) == [
        ("VOUT_SET", 56.0),
        ("IOUT_SET", 10.0),
        ("OPERATION", 1),
    ]
    limited = charge(30, SetpointUnit.AMPERE, 50.0)
    assert limited.current_a == 18 and "limited to maximum 18.00 A" in limited.reason


@pytest.mark.parametrize(
    ("setpoint", "battery_v", "why"),
    [
        (-300, 50.0, "charge-only"),
        (0, 50.0, "zero setpoint"),
        (150, 50.0, "below the minimum current 3.60 A"),  # 3 A
        (500, 56.0, "at/above window max"),
    ],
)
def test_everything_else_switches_the_output_off(setpoint, battery_v, why):
    plan = charge(setpoint, SetpointUnit.WATT, battery_v)
    assert plan.direction is PlanDirection.IDLE and plan.signed_current_a == 0
    assert plan.register_values() == {"OPERATION": 0}
    assert why in plan.reason and "output off" in plan.reason


def test_dispatch_by_family():
    request = SetpointRequest(-300, SetpointUnit.WATT)
    npb = plan_request(request, 50.0, NPB48, WINDOW, CurrentLimits(), reject_out_of_range=True)
    assert isinstance(npb, ChargePlan) and not npb.output_on  # discharge: not an error, off
    bic = plan_request(
        request, 50.0, identify("BIC-2200-48"), WINDOW, CurrentLimits(), reject_out_of_range=True
    )
    assert isinstance(bic, SetpointPlan) and bic.direction is PlanDirection.DISCHARGE
    with pytest.raises(SetpointRejected, match="exceeds the charge maximum 18.00 A"):
        plan_request(
            SetpointRequest(1000, SetpointUnit.WATT), 50.0, NPB48, WINDOW, CurrentLimits(),
            reject_out_of_range=True,
        )  # fmt: skip
    idle = safe_idle_plan(NPB48, WINDOW, CurrentLimits(), "controller offline")
    assert idle.register_values() == {"OPERATION": 0} and "output off" in idle.reason


# --- bit fields and provisioning ------------------------------------------------------------


def test_d18_curve_config_and_d17_charge_status():
    config = decode_curve_config(0x0884)  # D18: charger mode, -3 mV/°C/cell, RSTE
    assert config.charger_mode and config.temperature_compensation_mv == -3
    assert config.restart_enabled and config.curve == 0 and config.reserved == 0
    assert with_charger_mode(0x0884, False) == 0x0804
    assert with_charger_mode(0x0804, True) == 0x0884
    assert decode_charge_status(0x0002)["constant_current"]  # D17
    assert decode_charge_status(0x0800)["no_battery"]


def test_provisioning_switches_to_power_supply_mode_and_never_powers_up_on():
    plan = plan_charger_provisioning(56.0, 3.6, 0x0402, 0x1884, eep_off=True, operation_init="on")
    assert plan.system_config.unlock == 0x0000  # immediate EEPROM, EEP_OFF clear, power-up off
    assert plan.boot_defaults == {"VOUT_SET": 56.0, "IOUT_SET": 3.6}
    assert plan.curve_config == 0x1804  # CUVE cleared, reserved bit 12 kept
    assert plan.system_config.target == 0x0400  # EEP_OFF, power-up off
    previous = plan_charger_provisioning(56.0, 3.6, 0x0000, 0x0084, eep_off=False,
                                         operation_init="previous")  # fmt: skip
    assert previous.system_config.unlock == 0x0004 == previous.system_config.target


# --- Home Assistant -----------------------------------------------------------------------


def test_discovery_offers_no_discharge_for_a_charger():
    assert power_range(NPB48, CurrentLimits()) == (0, 864)  # 18 A x 48 V
    components = unit_components("canbridge", 0, NPB48, CurrentLimits())
    assert components["setpoint_power"]["min"] == 0
    assert "energy_discharged" not in components and "energy_charged" in components
    assert "ac_voltage" not in unit_components(
        "canbridge", 0, identify("NPB-750-24"), CurrentLimits()
    )
    bic = unit_components("canbridge", 0, identify("BIC-2200-48"), CurrentLimits())
    assert bic["setpoint_power"]["min"] < 0 and "energy_discharged" in bic
