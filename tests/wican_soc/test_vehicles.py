"""The vehicle list shared by wican-status, wican-soc and the simulator."""

import json

import pytest
from pydantic import ValidationError

from services.wican_soc.settings import WicanSocSettings
from services.wican_soc.vehicles import VehicleConfig
from services.wican_status.settings import WicanStatusSettings
from shared.settings import describe_validation_error

LEAF = {"name": "leaf", "device_id": "84f703406f75", "profile": "nissan-leaf-ze1"}
ZOE = {"name": "ioniq", "device_id": "84f703406f76", "profile": "hyundai-kia-egmp"}


def error_of(vehicles, cls=WicanSocSettings, **extra) -> str:
    with pytest.raises(ValidationError) as info:
        cls(vehicles=vehicles, health_file=None, **extra)
    return describe_validation_error(info.value)


def test_defaults():
    vehicle = VehicleConfig(**LEAF)
    assert vehicle.poll_interval_s == 60
    assert vehicle.soc_topic == "car/soc"
    assert vehicle.value_topics
    assert vehicle.expiry == 7 * 24 * 3600
    assert VehicleConfig(**LEAF, expiry_s=0).expiry is None


def test_two_vehicles_with_their_profiles():
    settings = WicanStatusSettings(vehicles=[LEAF, {**ZOE, "soc_topic": "car/ioniq/soc"}])
    assert [v.name for v in settings.vehicles] == ["leaf", "ioniq"]
    assert settings.profile_of(settings.vehicles[1]).response_id == 0x7EC


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"poll_interval_s": 0}, "poll_interval_s"),
        ({"device_id": "wican/x"}, "device_id"),
        ({"soc_topic": "car/#"}, "soc_topic"),
        ({"expiry_s": -1}, "expiry_s"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_errors_name_the_vehicle_and_the_field(change, field):
    message = error_of([LEAF, {**ZOE, "soc_topic": "car/ioniq/soc", **change}])
    assert "vehicle 'ioniq'" in message
    assert field in message


def test_missing_field_names_the_vehicle():
    message = error_of([{"name": "leaf", "device_id": "84f703406f75"}])
    assert "vehicle 'leaf'" in message and "profile" in message


def test_unknown_profile_names_vehicle_and_lists_the_known_ones():
    message = error_of([{**LEAF, "profile": "tesla"}])
    assert "vehicle 'leaf': profile: unknown profile 'tesla'" in message
    assert "nissan-leaf-ze1" in message


@pytest.mark.parametrize(
    ("second", "field"),
    [
        ({**ZOE, "name": "leaf", "soc_topic": "car/x"}, "name"),
        ({**ZOE, "device_id": LEAF["device_id"], "soc_topic": "car/x"}, "device_id"),
        (ZOE, "soc_topic"),  # both on car/soc
    ],
)
def test_duplicates_are_refused(second, field):
    message = error_of([LEAF, second])
    assert f"{field}:" in message and "already used by vehicle 'leaf'" in message


def test_soc_topic_can_be_switched_off_for_several_vehicles():
    settings = WicanSocSettings(
        vehicles=[{**LEAF, "soc_topic": ""}, {**ZOE, "soc_topic": ""}], health_file=None
    )
    assert all(v.soc_topic == "" for v in settings.vehicles)


def test_vehicles_from_the_environment(monkeypatch):
    monkeypatch.setenv("CANBRIDGE_VEHICLES", json.dumps([LEAF]))
    assert WicanSocSettings().vehicles[0].name == "leaf"


def test_vehicles_from_the_config_file_shared_with_an_anchor(monkeypatch, tmp_path):
    config = tmp_path / "canbridge.yaml"
    config.write_text(
        "wican-status:\n"
        "  vehicles: &vehicles\n"
        "    - {name: leaf, device_id: 84f703406f75, profile: nissan-leaf-ze1}\n"
        "wican-soc:\n"
        "  vehicles: *vehicles\n"
    )
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(config))
    assert WicanStatusSettings().vehicles == WicanSocSettings().vehicles


def test_own_profile_folder_and_a_broken_profile(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: x\n")
    message = error_of([LEAF], profiles_dir=tmp_path)
    assert "broken.yaml" in message and "source" in message
