"""The simulator's recorded cars: raw reply frames played back with Flow Control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.sim.wican.recorded import RecordedCar, load_cars, parse_cars
from shared.wican_payload import CanFrame

LEAF: dict[str, Any] = {
    "name": "leaf",
    "request_id": 0x79B,
    "request": "02 21 01",
    "response_id": 0x7BB,
    "frames": ["10 0F 61 01 00 01 02 03", "21 04 05 06 07 08 09 0A", "22 0B 0C AA AA AA AA AA"],
}
BMW: dict[str, Any] = {
    "name": "i3",
    "request_id": "6F1",
    "request": "07 03 22 DD BC",
    "response_id": "607",
    "address": 0x07,
    "frames": ["F1 10 0C 62 DD BC 03 02", "F1 21 03 B6 00 64 00 00", "F1 22 00 FF FF FF FF FF"],
}


def f(can_id: int, text: str, extended: bool = False) -> CanFrame:
    return CanFrame(can_id, extended, bytes.fromhex(text))


def test_first_frame_then_the_rest_after_flow_control() -> None:
    car = RecordedCar(parse_cars({"cars": [LEAF]}))
    assert car.on_frame(f(0x79B, "02 21 01 00 00 00 00 00")) == [f(0x7BB, LEAF["frames"][0])]
    assert car.on_frame(f(0x79B, "30 00 00 00 00 00 00 00")) == [
        f(0x7BB, LEAF["frames"][1]),
        f(0x7BB, LEAF["frames"][2]),
    ]
    assert not car.busy()
    assert car.on_frame(f(0x79B, "30 00 00 00 00 00 00 00")) == []  # nothing in flight


def test_block_size_wait_and_other_requests() -> None:
    car = RecordedCar(parse_cars({"cars": [LEAF]}))
    assert car.on_frame(f(0x79B, "02 21 02 00 00 00 00 00")) == []  # another group: silence
    assert car.on_frame(f(0x79C, "02 21 01 00 00 00 00 00")) == []  # another ECU
    car.on_frame(f(0x79B, "02 21 01 00 00 00 00 00"))
    assert car.on_frame(f(0x79B, "31 00 00")) == []  # wait
    assert car.on_frame(f(0x79B, "30 01 00")) == [f(0x7BB, LEAF["frames"][1])]
    assert car.on_frame(f(0x79B, "30 01 00")) == [f(0x7BB, LEAF["frames"][2])]


def test_extended_addressing_flow_control_needs_the_address() -> None:
    car = RecordedCar(parse_cars({"cars": [BMW]}))
    assert car.on_frame(f(0x6F1, "07 03 22 DD BC 00 00 00")) == [f(0x607, BMW["frames"][0])]
    assert car.on_frame(f(0x6F1, "30 00 00 00 00 00 00 00")) == []  # no address byte
    assert len(car.on_frame(f(0x6F1, "07 30 00 00 00 00 00 00"))) == 2


def test_flow_control_of_a_functional_request_goes_to_the_physical_id() -> None:
    outlander = {
        "request_id": 0x18DB33F1,
        "extended": True,
        "request": "03 22 01 D1",
        "response_id": 0x18DAF1DB,
        "flow_control_id": 0x18DADBF1,
        "frames": ["10 08 62 01 D1 00 A0 00", "21 00 00 AA AA AA AA AA"],
    }
    car = RecordedCar(parse_cars({"cars": [outlander]}))
    assert len(car.on_frame(f(0x18DB33F1, "03 22 01 D1 00 00 00 00", True))) == 1
    assert car.on_frame(f(0x18DB33F1, "30 00 00 00 00 00 00 00", True)) == []
    assert car.on_frame(f(0x18DADBF1, "30 00 00 00 00 00 00 00", True)) == [
        f(0x18DAF1DB, "21 00 00 AA AA AA AA AA", True)
    ]


def test_recorded_replies_are_paced_by_st_min_and_refused_when_not_iso_tp() -> None:
    car = RecordedCar(parse_cars({"cars": [LEAF]}))
    car.on_frame(f(0x79B, "02 21 01 00 00 00 00 00"))
    assert car.on_frame(f(0x79B, "30 00 7F 00 00 00 00 00")) == []  # 127 ms between frames
    delay = car.next_delay()
    assert car.busy() and delay is not None and 0 < delay <= 0.127
    broken = {**LEAF, "frames": [LEAF["frames"][0], LEAF["frames"][2]]}  # SN 1 missing
    with pytest.raises(ValueError, match=r"cars\[0\].frames: not one valid ISO-TP message"):
        parse_cars({"cars": [broken]})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({}, "non-empty list 'cars'"),
        ({"cars": []}, "non-empty list 'cars'"),
        ({"cars": ["x"]}, "cars[0]: must be a mapping"),
        ({"cars": [{**LEAF, "frames": []}]}, "cars[0].frames: needs at least one frame"),
        ({"cars": [{**LEAF, "request": "zz"}]}, "cars[0].request: 'zz' is not valid"),
        ({"cars": [{**LEAF, "request": 2101}]}, "cars[0].request: 2101 is not valid"),
        ({"cars": [{**LEAF, "request_id": "7Q"}]}, "cars[0].request_id: '7Q' is not valid"),
        (
            {"cars": [{**LEAF, "response_id": None}]},
            "cars[0].response_id: None is not valid",
        ),
    ],
)
def test_bad_cars_file_names_the_entry(raw, reason) -> None:
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_cars(raw)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cars.yaml"
    path.write_text("cars: [")
    with pytest.raises(ValueError, match=str(path)):
        load_cars(path)
    with pytest.raises(ValueError, match="missing.yaml"):
        load_cars(tmp_path / "missing.yaml")


def test_settings_name_what_the_simulator_cannot_play(tmp_path: Path, monkeypatch) -> None:
    from services.sim.wican.settings import SimWicanSettings

    monkeypatch.setenv("CANBRIDGE_PROFILE", "bmw-i3-mini-se")  # extended addressing: played
    assert SimWicanSettings().car_list()[0].profile == "bmw-i3-mini-se"
    monkeypatch.setenv("CANBRIDGE_PROFILE", "tesla-model-3")
    with pytest.raises(ValueError, match="no car 'tesla-model-3'.*set cars_file"):
        SimWicanSettings()
    cars = tmp_path / "cars.yaml"
    cars.write_text(
        "cars:\n  - {request_id: 0x6F1, request: '07 03 22 DD BC', response_id: 0x607,"
        " address: 7, frames: ['F1 03 62 DD BC']}\n"
    )
    monkeypatch.setenv("CANBRIDGE_CARS_FILE", str(cars))
    assert SimWicanSettings().cars_file == cars
    cars.write_text("cars: []\n")
    with pytest.raises(ValueError, match="cars_file: .*non-empty list 'cars'"):
        SimWicanSettings()


def test_several_cars_need_their_own_device_and_login(monkeypatch) -> None:
    import json

    from services.sim.wican.settings import SimWicanSettings

    monkeypatch.setenv("CANBRIDGE_MQTT__USERNAME", "wican")
    two = [{"device_id": "d0d0cafe0001"}, {"device_id": "d0d0cafe0002", "profile": "vw-e-up"}]
    monkeypatch.setenv("CANBRIDGE_CARS", json.dumps(two))
    with pytest.raises(ValueError, match=r"cars\[1\] \(d0d0cafe0002\): needs its own MQTT login"):
        SimWicanSettings()
    two[1]["login"] = "wican"
    monkeypatch.setenv("CANBRIDGE_CARS", json.dumps(two))
    with pytest.raises(ValueError, match="login 'wican' is used by two cars"):
        SimWicanSettings()
    two[1]["login"] = "wican-van"
    two[1]["device_id"] = "d0d0cafe0001"
    monkeypatch.setenv("CANBRIDGE_CARS", json.dumps(two))
    with pytest.raises(ValueError, match="device_id 'd0d0cafe0001' is used by two cars"):
        SimWicanSettings()
    two[1]["device_id"] = "d0d0cafe0002"
    monkeypatch.setenv("CANBRIDGE_CARS", json.dumps(two))
    monkeypatch.setenv("CANBRIDGE_MQTT__PASSWORD_FILE", "/secrets/wican")
    settings = SimWicanSettings()
    van = settings.mqtt_for(settings.cars[1], 1)
    assert (van.username, str(van.password_file)) == ("wican-van", "/secrets/wican-van")
    monkeypatch.setenv("CANBRIDGE_SOC", "40")  # would be ignored beside a list: refused
    with pytest.raises(ValueError, match="set soc per car"):
        SimWicanSettings()
