"""charge-controller's Home Assistant device payload (pure)."""

from __future__ import annotations

from services.charge_controller.controller_config import (
    MODES,
    ControllerConfig,
    parse_value,
    with_change,
)
from services.charge_controller.discovery import controller_device
from shared import ha_discovery as ha

OWN = "canbridge/charge-controller"


def components():
    return controller_device("canbridge")["components"]


def apply(comp: dict, payload: str) -> ControllerConfig:
    """What the controller does with `payload` on the component's command topic."""
    path = comp["command_topic"].removeprefix(f"{OWN}/set/")
    return with_change(ControllerConfig(), path, parse_value(payload.encode()))


def test_enable_switch_reaches_the_enabled_parameter():
    sw = components()["enabled"]
    assert sw["platform"] == "switch" and sw["state_topic"] == f"{OWN}/state"
    assert apply(sw, sw["payload_off"]).enabled is False
    assert apply(sw, sw["payload_on"]).enabled is True
    assert "value_json.enabled" in sw["value_template"]


def test_mode_select_offers_every_mode_and_each_is_accepted():
    sel = components()["mode"]
    assert sel["options"] == list(MODES)
    for mode in sel["options"]:
        assert apply(sel, mode).mode == mode
    assert sel["value_template"] == "{{ value_json.mode }}"


def test_grid_target_number_covers_the_validated_range():
    num = components()["target_w"]
    assert (num["min"], num["max"]) == (-5000.0, 5000.0)
    assert apply(num, str(num["max"])).control.target_w == num["max"]
    assert apply(num, "20").control.target_w == 20
    assert (num["device_class"], num["unit_of_measurement"], num["mode"]) == ("power", "W", "box")


def test_payload_is_valid_with_stable_ids_and_the_controller_availability():
    payload = controller_device("canbridge")
    ha.check_device_config(payload)
    ids = [c["unique_id"] for c in payload["components"].values()]
    assert ids == [c["unique_id"] for c in controller_device("canbridge")["components"].values()]
    assert all(uid.startswith("canbridge_controller_main_") for uid in ids)
    assert payload["availability"] == ha.availability((f"{OWN}/status", None))
    assert payload["components"]["grid_w"]["device_class"] == "power"
