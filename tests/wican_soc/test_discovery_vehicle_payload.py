"""wican-soc's Home Assistant device payloads (pure)."""

from __future__ import annotations

import pytest
from wican_soc.builtin_profiles import builtin_profiles

from services.wican_soc.discovery import node_id, value_sensor, vehicle_device
from services.wican_soc.profiles import ValueSpec
from services.wican_soc.vehicles import VehicleConfig
from shared import ha_discovery as ha

PROFILES = builtin_profiles()
LEAF = VehicleConfig(name="leaf", device_id="84f703406f75", profile="nissan-leaf-ze1")


def spec(name: str, unit: str) -> ValueSpec:
    return ValueSpec(name=name, unit=unit, expr="P3")


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_every_builtin_profile_gives_a_valid_device(key):
    vehicle = VehicleConfig(name="car", device_id="84f703406f75", profile=key)
    payload = vehicle_device("canbridge", vehicle, PROFILES[key])
    ha.check_device_config(payload)
    soc = payload["components"]["soc"]
    assert soc["name"] is None  # the device's main entity
    assert (soc["device_class"], soc["unit_of_measurement"], soc["state_class"]) == (
        "battery",
        "%",
        "measurement",
    )
    assert set(payload["components"]) == {v.name for v in PROFILES[key].values}


def test_unique_ids_are_stable_and_differ_between_cars():
    profile = PROFILES["nissan-leaf-ze1"]
    first = vehicle_device("canbridge", LEAF, profile)
    again = vehicle_device("canbridge", LEAF, profile)
    other = VehicleConfig(name="zoe", device_id="84f703406f76", profile="nissan-leaf-ze1")
    ids = [c["unique_id"] for c in first["components"].values()]
    assert ids == [c["unique_id"] for c in again["components"].values()]
    assert ids == [
        "canbridge_vehicle_leaf_soc",
        "canbridge_vehicle_leaf_soc_bms",
        "canbridge_vehicle_leaf_hx",
    ]
    theirs = vehicle_device("canbridge", other, profile)["components"].values()
    assert not set(ids) & {c["unique_id"] for c in theirs}
    assert first["device"]["identifiers"] == ["wican_84f703406f75"]


def test_availability_needs_the_service_and_the_adapter():
    payload = vehicle_device("canbridge", LEAF, PROFILES["nissan-leaf-ze1"])
    assert payload["availability_mode"] == "all"
    assert [(a["topic"], a.get("value_template")) for a in payload["availability"]] == [
        ("canbridge/wican-soc/status", None),
        ("wican/84f703406f75/status", "{{ value_json.status }}"),
    ]
    later = vehicle_device(
        "canbridge", LEAF, PROFILES["nissan-leaf-ze1"], "wican/84f703406f75/can/status"
    )
    assert later["availability"][1]["topic"] == "wican/84f703406f75/can/status"


def test_values_read_the_state_json():
    payload = vehicle_device("canbridge", LEAF, PROFILES["nissan-leaf-ze1"])
    for name, comp in payload["components"].items():
        assert comp["state_topic"] == "canbridge/vehicle/leaf/state"
        assert comp["value_template"] == f"{{{{ value_json.{name} | default('') }}}}"


@pytest.mark.parametrize(
    ("name", "unit", "device_class", "ha_unit"),
    [
        ("soh", "%", None, "%"),
        ("hv_voltage", "V", "voltage", "V"),
        ("aux_voltage", "V", "voltage", "V"),
        ("battery_temperature", "°C", "temperature", "°C"),
        ("soc_bms", "%", "battery", "%"),
        ("capacity", "Ah", None, "Ah"),
    ],
)
def test_classes_and_units_follow_the_value(name, unit, device_class, ha_unit):
    comp = value_sensor("canbridge", LEAF, spec(name, unit))
    assert comp.get("device_class") == device_class
    assert comp["unit_of_measurement"] == ha_unit
    assert comp["state_class"] == "measurement"
    assert comp["name"]  # only soc is the unnamed main entity


def test_base_topic_levels_become_valid_ids():
    payload = vehicle_device("home/canbridge", LEAF, PROFILES["nissan-leaf-ze1"])
    assert node_id("home/canbridge", LEAF) == "home_canbridge_vehicle_leaf"
    assert payload["components"]["soc"]["unique_id"] == "home_canbridge_vehicle_leaf_soc"
    assert payload["components"]["soc"]["state_topic"] == "home/canbridge/vehicle/leaf/state"
