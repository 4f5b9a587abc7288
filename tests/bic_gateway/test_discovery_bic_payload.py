"""bic-gateway's Home Assistant device payloads and energy counters (pure)."""

from __future__ import annotations

import pytest

from services.bic_gateway.discovery import fault_flags, power_range, unit_device
from services.bic_gateway.energy import EnergyCounter, split_area
from services.bic_gateway.models import MODELS
from services.bic_gateway.setpoint import CurrentLimits, effective_limits
from services.bic_gateway.setpoint_request import parse_state
from shared import ha_discovery as ha

BIC48 = MODELS["BIC-2200-48"]


def device(**kw):
    return unit_device("canbridge", 0, BIC48, **kw)


def test_measurements_energy_and_controls_with_their_classes():
    comps = device(serial="AB1234")["components"]
    expected = {
        "dc_power": ("power", "W"),
        "ac_power": ("power", "W"),
        "voltage": ("voltage", "V"),
        "current": ("current", "A"),
        "ac_voltage": ("voltage", "V"),
        "temperature": ("temperature", "°C"),
    }
    for key, (device_class, unit) in expected.items():
        comp = comps[key]
        assert (comp["platform"], comp["device_class"], comp["unit_of_measurement"]) == (
            "sensor",
            device_class,
            unit,
        )
        assert comp["state_class"] == "measurement"
        assert comp["state_topic"] == f"canbridge/bic/0/{key}"
    for key in ("energy_charged", "energy_discharged"):
        comp = comps[key]
        assert (comp["device_class"], comp["unit_of_measurement"], comp["state_class"]) == (
            "energy",
            "kWh",
            "total_increasing",
        )
        assert comp["state_topic"] == f"canbridge/bic/0/{key}"
    assert comps["dc_power"]["name"] is None  # main entity


def test_one_problem_sensor_per_fault_flag():
    comps = device()["components"]
    faults = {k: c for k, c in comps.items() if c["platform"] == "binary_sensor"}
    assert set(faults) == {f"fault_{f.name}" for f in fault_flags()}
    assert "fault_otp" in faults and "fault_op_off" not in faults  # OP_OFF is a status
    for key, comp in faults.items():
        flag = key.removeprefix("fault_")
        assert comp["device_class"] == "problem"
        assert comp["state_topic"] == "canbridge/bic/0/fault"
        assert f"value_json.flags.{flag}.active" in comp["value_template"]


def test_switch_payloads_are_what_the_gateway_understands():
    sw = device()["components"]["operation"]
    assert sw["command_topic"] == "canbridge/bic/0/set/state"
    assert parse_state(sw["payload_on"].encode()) == 1
    assert parse_state(sw["payload_off"].encode()) == 0
    assert (sw["state_topic"], sw["state_on"], sw["state_off"]) == (
        "canbridge/bic/0/operation",
        "on",
        "off",
    )
    assert sw["retain"] is False


@pytest.mark.parametrize("name", sorted(MODELS))
def test_setpoint_range_comes_from_the_model(name):
    model = MODELS[name]
    number = unit_device("canbridge", 3, model)["components"]["setpoint_power"]
    limits = effective_limits(model, CurrentLimits())
    assert number["max"] == int(limits.max_charge_a * model.nominal_voltage)
    assert number["min"] == -int(limits.max_discharge_a * model.nominal_voltage)
    assert number["command_topic"] == "canbridge/bic/3/set/power"
    assert (number["mode"], number["entity_category"], number["unit_of_measurement"]) == (
        "box",
        "config",
        "W",
    )
    assert number["state_topic"] == "canbridge/bic/3/setpoint"


def test_configured_limits_narrow_the_setpoint_range():
    assert power_range(BIC48, CurrentLimits(max_charge_a=10, max_discharge_a=5)) == (-240, 480)


def test_identifiers_prefer_the_serial_and_availability_needs_both():
    with_serial = device(serial="EB12345678 ")
    assert with_serial["device"]["identifiers"] == ["bic2200_EB12345678"]
    assert with_serial["device"]["serial_number"] == "EB12345678"
    assert device()["device"]["identifiers"] == ["canbridge_bic_0"]
    assert with_serial["availability_mode"] == "all"
    assert [a["topic"] for a in with_serial["availability"]] == [
        "canbridge/bic-gateway/status",
        "canbridge/bic/0/availability",
    ]


def test_unique_ids_are_stable_unique_and_per_unit():
    first = [c["unique_id"] for c in device(serial="X")["components"].values()]
    assert first == [c["unique_id"] for c in device(serial="Y")["components"].values()]
    assert len(set(first)) == len(first)
    assert all(uid.startswith("canbridge_bic_0_") for uid in first)
    other = unit_device("canbridge", 1, BIC48)["components"].values()
    assert not set(first) & {c["unique_id"] for c in other}
    ha.check_device_config(device(serial="X"))


def test_energy_of_a_constant_kilowatt_for_an_hour():
    counter = EnergyCounter(max_gap_s=10)
    for second in range(3601):
        counter.add(float(second), 1000.0)
    assert counter.charged_kwh == pytest.approx(1.0)
    assert counter.discharged_kwh == 0.0
    assert counter.values() == {"energy_charged": "1.0000", "energy_discharged": "0.0000"}


def test_a_zero_crossing_is_split_between_the_counters():
    assert split_area(100.0, -100.0, 2.0) == pytest.approx((50.0, 50.0))
    assert split_area(-300.0, 100.0, 4.0) == pytest.approx((50.0, 450.0))
    counter = EnergyCounter(max_gap_s=10)
    counter.add(0.0, -3600.0)
    counter.add(1.0, -3600.0)
    assert counter.discharged_kwh == pytest.approx(0.001)
    assert counter.charged_kwh == 0.0


def test_gaps_and_unknown_power_are_not_integrated():
    counter = EnergyCounter(max_gap_s=5)
    counter.add(0.0, 1000.0)
    counter.add(60.0, 1000.0)  # a minute without samples
    assert counter.charged_kwh == 0.0
    counter.add(61.0, None)
    counter.add(62.0, 1000.0)
    counter.pause()
    counter.add(63.0, 1000.0)
    assert counter.charged_kwh == 0.0
    counter.add(64.0, 1000.0)
    assert counter.charged_kwh == pytest.approx(1000 / 3600 / 1000)
