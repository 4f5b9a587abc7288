import pytest

from services.charge_controller.controller_config import (
    CommandError,
    ControllerConfig,
    parse_value,
    with_change,
)
from services.charge_controller.settings import ChargeControllerSettings


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b"0.8", 0.8),
        (b" auto ", "auto"),
        (b'"manual"', "manual"),
        (b"ON", True),
        (b"off", False),
        (b"true", True),
        (b'{"gain": 0.5}', {"gain": 0.5}),
    ],
)
def test_payloads(payload, value) -> None:
    assert parse_value(payload) == value


def test_empty_payload_is_refused() -> None:
    with pytest.raises(CommandError, match="empty"):
        parse_value(b"  ")


def test_changes_are_validated_copies() -> None:
    config = ControllerConfig()
    changed = with_change(config, "control/gain", 0.6)
    assert changed.control.gain == 0.6 and config.control.gain == 1.0
    assert with_change(config, "mode", "hold").mode == "hold"
    assert with_change(config, "enabled", False).enabled is False
    assert with_change(config, "manual_setpoint_w", -400).manual_setpoint_w == -400
    assert with_change(config, "winter.min_soc_pct", 30).winter.min_soc_pct == 30
    merged = with_change(config, "control", {"deadband_w": 25, "min_change_w": 20})
    assert (merged.control.deadband_w, merged.control.min_change_w) == (25, 20)
    profiles = [{"name": "night", "start": "22:00", "end": "06:00", "max_discharge_w": 300}]
    scheduled = with_change(config, "schedule/profiles", profiles)
    assert scheduled.schedule.profiles[0].max_discharge_w == 300


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("control/gain", 1.5, "control.gain"),
        ("control/gain", "fast", "control.gain"),
        ("mode", "turbo", "mode"),
        ("control/start_power_w", 5, "start_power_w must be >= min_power_w"),
        ("battery/min_soc_pct", 50, "restart thresholds"),
        ("no_such", 1, "unknown parameter no_such"),
        ("control/no_such", 1, "unknown parameter control.no_such"),
        ("battery/soc_topic", "bms/soc", "cannot change at runtime"),
        ("ev/wallbox_topic", "x", "cannot change at runtime"),
        ("switches", {}, "cannot change at runtime"),
        ("", 1, "no parameter"),
    ],
)
def test_invalid_changes_are_refused_with_a_reason(path, value, message) -> None:
    with pytest.raises(CommandError, match=message):
        with_change(ControllerConfig(), path, value)


def test_settings_from_env_and_yaml(tmp_path, monkeypatch) -> None:
    config = tmp_path / "canbridge.yaml"
    config.write_text(
        """
base_topic: home
charge-controller:
  mode: hold
  meter:
    sources:
      - {topic: shellies/pro3em/status/em:0, json_path: total_act_power}
  battery:
    voltage_soc_table: ["Cap2V/0=46", "Cap2V/100=54"]
  schedule:
    profiles:
      - {name: night, start: "22:00", end: "06:00", max_discharge_w: 400}
  switches:
    items:
      - {name: heater, on_above_w: 800, command_topic: cmnd/heater/POWER}
"""
    )
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(config))
    monkeypatch.setenv("CANBRIDGE_CONTROL__TARGET_W", "25")
    settings = ChargeControllerSettings()
    assert settings.base_topic == "home" and settings.mode == "hold"
    assert settings.control.target_w == 25
    assert settings.meter.sources[0].json_path == "total_act_power"
    assert settings.battery.voltage_soc_table == ((0, 46), (100, 54))
    assert settings.switches.items[0].command_topic == "cmnd/heater/POWER"
    runtime = settings.runtime_part()
    assert isinstance(runtime, ControllerConfig) and runtime.mode == "hold"
    # a runtime change round-trips through JSON (times, tables) without loss
    assert with_change(runtime, "enabled", False).schedule == runtime.schedule
    assert with_change(runtime, "enabled", False).battery == runtime.battery


def test_project_config_file_section_is_valid(monkeypatch) -> None:
    from pathlib import Path

    project = Path(__file__).resolve().parents[2] / "config" / "canbridge.yaml"
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(project))
    ChargeControllerSettings()  # raises on any invalid key
