import json

import pytest

from services.charge_controller.gateway_link import GatewaySettings, parse_state, setpoint_payload
from services.charge_controller.supervisor import BatteryReading
from shared.contract.efficiency import dc_from_ac
from shared.contract.payloads import SetPower


def test_topics_from_templates() -> None:
    gw = GatewaySettings(unit=3)
    assert gw.topic(gw.state_topic, "home") == "home/bic/3/state"
    assert gw.topic(gw.setpoint_topic, "home") == "home/bic/3/set/power"
    assert gw.topic(gw.availability_topic, "home") == "home/bic/3/availability"
    assert gw.topic(gw.info_topic, "home") == "home/bic/3/info"


def test_ac_setpoint_becomes_dc_watts_inverse_of_the_gateway_estimate() -> None:
    assert dc_from_ac(1000, 0.9) == pytest.approx(900)  # charging: less reaches the battery
    assert dc_from_ac(-900, 0.9) == pytest.approx(-1000)  # discharging: more leaves it
    body = json.loads(setpoint_payload(-465, 0.93, now_epoch=1700000000.0))
    assert body == {"value": -500.0, "ts": 1700000000.0}
    assert SetPower(**body) == SetPower(value=-500.0, ts=1700000000.0)  # the contract's model


def test_state_parsing() -> None:
    payload = json.dumps(
        {"voltage": 52.1, "current": -9.6, "ac_power": -465.2, "temperature": 31.0}
    ).encode()
    assert parse_state(payload) == BatteryReading(-465.2, 52.1, 31.0)
    assert parse_state(b'{"voltage": null}') == BatteryReading(None, None, None)
    assert parse_state(b"offline") is None
    assert parse_state(b"[1]") is None
