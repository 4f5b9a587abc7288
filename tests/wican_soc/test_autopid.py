"""AutoPID input: the adapter's own decoded values, and the vehicle config that selects it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.wican_soc.autopid import NotAutopid, decode_autopid, parameters
from services.wican_soc.decode import Rejected
from services.wican_soc.vehicles import AutopidInput, VehicleConfig, check_fleet

CONFIG = AutopidInput(values={"soc": "SOC_D", "soc_bms": "SOC", "soh": "SOH"})


def test_grouped_message_gives_the_mapped_values() -> None:
    payload = b'{"SOC_D":81.5,"SOC":79.25,"SOH":97,"CHARGING":"on","HV_V":389.1}'
    result = decode_autopid(payload, CONFIG)
    assert result.values == {"soc": 81.5, "soc_bms": 79.25, "soh": 97.0}
    assert result.rejected == []


def test_per_parameter_message_carries_one_value() -> None:
    assert decode_autopid(b'{"SOH":96}', CONFIG).values == {"soh": 96.0}
    assert decode_autopid(b'{"SOH":96}', CONFIG).soc is None


def test_bare_number_of_the_wallbox_destination() -> None:
    only_soc = AutopidInput(values={"soc": "SOC"})
    assert decode_autopid(b"80.50", only_soc).values == {"soc": 80.5}
    with pytest.raises(NotAutopid, match="bare number"):
        parameters(b"80.50", CONFIG)  # which value would it be?


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"SOC_D":104}', "SOC_D: implausible: 104 % outside 0..100"),
        (b'{"SOC_D":-1}', "SOC_D: implausible: -1 % outside 0..100"),
        (b'{"SOC_D":"on"}', "SOC_D: not a number: 'on'"),
        (b'{"SOC_D":true}', "SOC_D: not a number: 'True'"),
        (b'{"SOC_D":null}', "SOC_D: not a number: 'None'"),
        (b'{"SOC_D":1e999}', "SOC_D: not a finite number"),
    ],
)
def test_implausible_values_are_rejected(payload: bytes, reason: str) -> None:
    result = decode_autopid(payload, CONFIG)
    assert result.soc is None
    assert result.rejected == [Rejected("soc", reason)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"bus":"0","type":"rx","ts":1,"frame":[]}', "raw CAN frames"),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "neither a JSON object"),
        (b"[" * 100_000, "larger than"),
    ],
)
def test_other_messages_are_not_autopid(payload: bytes, reason: str) -> None:
    with pytest.raises(NotAutopid, match=reason):
        decode_autopid(payload, CONFIG)


def vehicle(**fields) -> VehicleConfig:
    return VehicleConfig.model_validate({"name": "ioniq", "device_id": "84f7034a1b2c", **fields})


def test_autopid_vehicle_needs_no_profile_and_listens_on_the_rx_topic_by_default() -> None:
    car = vehicle(source="autopid", autopid={"values": {"soc": "SOC"}})
    assert car.autopid_topic == "wican/84f7034a1b2c/can/rx"
    check_fleet([car], {})  # no profile needed
    own = vehicle(source="autopid", autopid={"topic": "garage/ioniq", "values": {"soc": "SOC"}})
    assert own.autopid_topic == "garage/ioniq"


def test_units_default_to_percent_for_soc_values() -> None:
    config = AutopidInput(
        values={"soc": "S", "soh": "H", "hv_voltage": "V"}, units={"hv_voltage": "V"}
    )
    assert [config.unit_of(n) for n in ("soc", "soh", "hv_voltage")] == ["%", "", "V"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"source": "autopid"}, "autopid: needed with source autopid"),
        ({"source": "autopid", "autopid": {"values": {"soh": "SOH"}}}, "needs soc"),
        ({"source": "autopid", "autopid": {"values": {}}}, "at least 1 item"),
        (
            {"source": "autopid", "autopid": {"values": {"soc": "SOC", "time": "T"}}},
            "time are fields of the published SoC payload",
        ),
        (
            {"source": "autopid", "autopid": {"values": {"soc": "SOC"}}, "profile": "vw-e-up"},
            "profile: not used with source autopid",
        ),
        ({"source": "autopid", "autopid": {"values": {"SoC": "SOC"}}}, "pattern"),
        ({"source": "autopid", "autopid": {"values": {"soc": "SOC"}, "topic": "a/+/b"}}, "topic"),
        ({}, "profile: needed with source raw"),
        ({"profile": "vw-e-up", "autopid": {"values": {"soc": "SOC"}}}, "only with source"),
        ({"source": "obd"}, "'raw' or 'autopid'"),
    ],
)
def test_bad_vehicle_source_config_is_explained(fields: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        vehicle(**fields)


def test_autopid_car_gets_a_home_assistant_device_with_its_values() -> None:
    from services.wican_soc.discovery import autopid_device

    car = vehicle(
        source="autopid",
        autopid={
            "values": {"soc": "SOC_D", "soh": "SOH", "hv_voltage": "HV_V"},
            "units": {"hv_voltage": "V"},
        },
    )
    payload = autopid_device("canbridge", car)
    assert payload["device"]["model"] == "WiCAN AutoPID"
    assert payload["device"]["model_id"] == "autopid"
    components = payload["components"]
    assert list(components) == ["soc", "soh", "hv_voltage"]
    assert components["soc"]["device_class"] == "battery"
    assert components["hv_voltage"]["device_class"] == "voltage"
    assert components["soh"]["state_topic"] == "canbridge/vehicle/ioniq/state"
