"""Home Assistant device discovery: payload checks and (re)publication."""

from __future__ import annotations

import json

import pytest
from harness import TIMEOUT

from shared import ha_discovery as ha
from shared.mqtt_client import MqttClient

DEVICE = {"identifiers": ["canbridge_vehicle_leaf"], "name": "Leaf", "manufacturer": "Nissan"}
AVAIL = ha.availability(
    ("canbridge/wican-soc/status", None), ("wican/84f703406f75/status", "{{ value_json.status }}")
)


def soc_sensor(**kw):
    args = {"device_class": "battery", "unit": "%", "precision": 0, **kw}
    return ha.sensor("canbridge_leaf_soc", None, "canbridge/vehicle/leaf/soc", **args)


def test_valid_device_payload_has_the_mandatory_keys():
    payload = ha.device_config(DEVICE, {"soc": soc_sensor()}, AVAIL)
    assert payload["origin"]["name"] == "canbridge"
    assert payload["availability_mode"] == "all"
    assert payload["availability"][1]["value_template"] == "{{ value_json.status }}"
    comp = payload["components"]["soc"]
    assert (
        comp["platform"],
        comp["device_class"],
        comp["unit_of_measurement"],
        comp["state_class"],
    ) == ("sensor", "battery", "%", "measurement")


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ({"soc": soc_sensor(unit="kWh")}, "battery needs unit"),
        ({"e": ha.sensor("u_e", "E", "t", device_class="energy", unit="kWh")}, "total_increasing"),
        ({"m": ha.sensor("u_m", "M", "t", device_class="enum", unit=None)}, "enum sensors"),
        ({"a": soc_sensor(), "b": soc_sensor()}, "used twice"),
        ({"bad key": soc_sensor()}, "letters, digits"),
        ({"s": {**soc_sensor(), "object_id": "x"}}, "deprecated"),
        ({"s": {"platform": "switch", "unique_id": "u_s", "state_topic": "t"}}, "command_topic"),
        ({"s": {"unique_id": "u_s"}}, "needs 'platform'"),
        ({"s": {**soc_sensor(), "state_class": "sometimes"}}, "unknown state_class"),
    ],
)
def test_payloads_ha_would_refuse_are_rejected(components, message):
    with pytest.raises(ValueError, match=message):
        ha.device_config(DEVICE, components, AVAIL)


def test_controls_are_not_retained_and_numbers_are_config_boxes():
    n = ha.number(
        "u_n",
        "Grid target",
        "s",
        "c",
        minimum=-500,
        maximum=500,
        step=10,
        unit="W",
        device_class="power",
    )
    sw = ha.switch("u_sw", "Enable", "s", "c")
    assert n["retain"] is False and sw["retain"] is False
    assert (n["mode"], n["entity_category"]) == ("box", "config")


@pytest.fixture
def publisher_client(broker):
    client = MqttClient(broker.mqtt_settings("wican-soc"), "wican-soc", broker.base_topic)
    yield client
    client.stop()


def mark(client: MqttClient) -> None:
    """A retained QoS 1 marker from the same client: ordered after its earlier messages."""
    client.publish("canbridge/wican-soc/marker", b"m", qos=1, retain=True).wait_for_publish(TIMEOUT)


def test_published_retained_on_connect_and_again_when_ha_restarts(publisher_client, probe):
    pub = ha.DiscoveryPublisher(publisher_client, delay_s=(0.0, 0.01))
    pub.register("canbridge_leaf", lambda: ha.device_config(DEVICE, {"soc": soc_sensor()}, AVAIL))
    publisher_client.start()
    assert publisher_client.wait_ready(TIMEOUT)  # subscribed to homeassistant/status
    ha_side = probe(user="consumer")
    ha_side.subscribe("homeassistant/device/#")
    first = ha_side.wait_for("homeassistant/device/canbridge_leaf/config")
    assert first.retain
    assert json.loads(first.payload)["components"]["soc"]["unique_id"] == "canbridge_leaf_soc"
    ha_side.clear()
    ha_side.publish("homeassistant/status", "online")  # HA's birth message after a restart
    again = ha_side.wait_for("homeassistant/device/canbridge_leaf/config")
    assert not again.retain  # a live republication, not the retained replay


def test_disabled_publisher_publishes_nothing(publisher_client, probe):
    ha_side = probe(user="consumer")
    ha_side.subscribe("homeassistant/device/#")
    pub = ha.DiscoveryPublisher(publisher_client, enabled=False)
    pub.register("canbridge_leaf", lambda: ha.device_config(DEVICE, {"soc": soc_sensor()}, AVAIL))
    publisher_client.start()
    assert publisher_client.wait_connected(TIMEOUT)
    mark(publisher_client)  # published after anything the connect hooks sent
    ha_side.subscribe("canbridge/wican-soc/marker")
    ha_side.wait_for("canbridge/wican-soc/marker")
    assert ha_side.received("homeassistant/device/#") == []


def test_remove_clears_the_retained_config(publisher_client, probe):
    pub = ha.DiscoveryPublisher(publisher_client)
    pub.register("canbridge_leaf", lambda: ha.device_config(DEVICE, {"soc": soc_sensor()}, AVAIL))
    publisher_client.start()
    assert publisher_client.wait_connected(TIMEOUT)
    pub.remove("canbridge_leaf")
    mark(publisher_client)  # its PUBACK means the broker has processed the removal too
    late = probe(user="consumer")
    late.subscribe("homeassistant/device/#")
    late.subscribe("canbridge/wican-soc/marker")
    late.wait_for("canbridge/wican-soc/marker")
    assert late.received("homeassistant/device/#") == []
