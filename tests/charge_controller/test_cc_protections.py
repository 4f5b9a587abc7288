import pytest
from pydantic import ValidationError

from services.charge_controller.protections import (
    BatteryProtection,
    BatterySettings,
    TemperatureGuard,
    TemperatureSettings,
)
from services.charge_controller.voltage_soc import parse_table, soc_from_voltage

TABLE = {0: 46.0, 20: 50.0, 50: 51.5, 100: 54.0}


def test_voltage_table_interpolates_and_clamps() -> None:
    table = parse_table(TABLE)
    assert soc_from_voltage(table, 50.75) == pytest.approx(35.0)
    assert soc_from_voltage(table, 40.0) == 0.0
    assert soc_from_voltage(table, 60.0) == 100.0
    assert soc_from_voltage((), 50.0) is None


def test_voltage_table_accepts_cap2v_lines() -> None:
    lines = ["Cap2V/0=46.0", "Cap2V/100=54.0", "cap2v/50 = 51.5"]
    assert parse_table(lines) == ((0.0, 46.0), (50.0, 51.5), (100.0, 54.0))


@pytest.mark.parametrize(
    "bad",
    [{0: 50.0, 100: 49.0}, {0: 46.0}, {150: 50.0, 0: 46.0}, ["Cap2V/x=1"], "nope"],
)
def test_voltage_table_rejects_nonsense(bad) -> None:
    with pytest.raises(ValidationError):
        BatterySettings(voltage_soc_table=bad)


def test_restart_thresholds_must_lie_inside_the_window() -> None:
    with pytest.raises(ValidationError, match="discharge_restart_soc_pct"):
        BatterySettings(min_soc_pct=20, discharge_restart_soc_pct=10)
    with pytest.raises(ValidationError, match="charge_restart_v"):
        BatterySettings(max_voltage_v=55, charge_restart_v=56)


def test_bms_soc_window_with_restart_hysteresis() -> None:
    guard = BatteryProtection(BatterySettings(min_soc_pct=10, discharge_restart_soc_pct=15))
    guard.record_bms_soc(0, 12)
    assert guard.evaluate(0).discharge
    guard.record_bms_soc(1, 10)
    refused = guard.evaluate(1)
    assert not refused.discharge and refused.charge
    assert "no discharge until 15 %" in refused.reasons[0]
    guard.record_bms_soc(2, 14)
    assert not guard.evaluate(2).discharge  # still latched
    guard.record_bms_soc(3, 15)
    assert guard.evaluate(3).discharge


def test_full_battery_stops_charging_until_restart_soc() -> None:
    guard = BatteryProtection(BatterySettings(max_soc_pct=95, charge_restart_soc_pct=90))
    guard.record_bms_soc(0, 96)
    assert not guard.evaluate(0).charge
    guard.record_bms_soc(1, 92)
    assert not guard.evaluate(1).charge
    guard.record_bms_soc(2, 90)
    assert guard.evaluate(2).charge


def test_stale_bms_soc_falls_back_to_the_voltage_table() -> None:
    settings = BatterySettings(soc_max_age_s=60, voltage_soc_table=TABLE, min_soc_pct=10)
    guard = BatteryProtection(settings)
    guard.record_bms_soc(0, 80)
    guard.record_battery(0, 46.5, 0.0)  # resting, ~2.5 %
    assert guard.soc(30).source == "bms"
    soc = guard.soc(61)
    assert soc.source == "voltage" and soc.value == pytest.approx(2.5)
    assert not guard.evaluate(61).discharge


def test_voltage_soc_only_updates_at_rest() -> None:
    guard = BatteryProtection(BatterySettings(voltage_soc_table=TABLE, rest_power_w=50))
    guard.record_battery(0, 51.5, 10.0)
    assert guard.soc(0).value == pytest.approx(50.0)
    guard.record_battery(1, 50.0, -800.0)  # sagging under load: ignored
    assert guard.soc(1).value == pytest.approx(50.0)
    guard.record_battery(2, 50.0, 0.0)
    assert guard.soc(2).value == pytest.approx(20.0)


def test_voltage_window_with_restart_hysteresis() -> None:
    settings = BatterySettings(
        min_voltage_v=47, discharge_restart_v=48.5, max_voltage_v=55, charge_restart_v=54
    )
    guard = BatteryProtection(settings)
    guard.record_battery(0, 46.9, -500)
    assert not guard.evaluate(0).discharge
    guard.record_battery(1, 48.0, 0)
    assert not guard.evaluate(1).discharge
    guard.record_battery(2, 48.5, 0)
    assert guard.evaluate(2).discharge
    guard.record_battery(3, 55.1, 800)
    high = guard.evaluate(3)
    assert not high.charge and high.discharge and "55.10 V" in high.reasons[0]
    guard.record_battery(4, 54.5, 0)
    assert not guard.evaluate(4).charge
    guard.record_battery(5, 54.0, 0)
    assert guard.evaluate(5).charge


def test_no_readings_allow_everything() -> None:
    assert BatteryProtection(BatterySettings()).evaluate(0).charge


def test_temperature_window_with_restart_hysteresis() -> None:
    guard = TemperatureGuard(TemperatureSettings(min_c=0, max_c=60, hysteresis_c=5))
    guard.record(0, 30)
    assert guard.evaluate(0).charge
    guard.record(1, 61)
    hot = guard.evaluate(1)
    assert not hot.charge and not hot.discharge and "61 °C" in hot.reasons[0]
    guard.record(2, 57)
    assert not guard.evaluate(2).charge
    guard.record(3, 55)
    assert guard.evaluate(3).discharge
    guard.record(4, -1)
    assert not guard.evaluate(4).charge
    guard.record(5, 5)
    assert guard.evaluate(5).charge


def test_temperature_unknown_or_stale_is_not_checked() -> None:
    guard = TemperatureGuard(TemperatureSettings(max_age_s=60))
    assert guard.evaluate(0).charge
    guard.record(0, 90)
    assert not guard.evaluate(1).charge
    assert guard.evaluate(61).charge


def test_temperature_window_must_leave_room_for_hysteresis() -> None:
    with pytest.raises(ValidationError):
        TemperatureSettings(min_c=10, max_c=15, hysteresis_c=5)
