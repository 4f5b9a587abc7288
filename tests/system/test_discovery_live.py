"""The three services announce their devices to Home Assistant on a real broker.

Home Assistant's side is a `consumer` probe: it reads `homeassistant/#` and publishes the
birth message `homeassistant/status` = `online`, as HA's MQTT integration does.
"""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import private_bus, start_stack
from harness import Probe
from wican_soc.wican_stack import DEVICE, vehicles_env
from wican_soc.wican_stack import start_stack as start_wican_stack

pytestmark = pytest.mark.integration

OFF = {"CANBRIDGE_HOMEASSISTANT__DISCOVERY": "false"}
VEHICLE_CONFIG = "homeassistant/device/canbridge_vehicle_leaf/config"
BIC_CONFIG = "homeassistant/device/canbridge_bic_0/config"
CONTROLLER_CONFIG = "homeassistant/device/canbridge_controller/config"


def ha_side(probe) -> Probe:
    side = probe(user="consumer")
    side.subscribe("homeassistant/device/#")
    return side


def config_of(side: Probe, topic: str, **kw) -> dict:
    return json.loads(side.wait_for(topic, **kw).payload)


def assert_retained_and_republished(probe, topic: str) -> None:
    """A late subscriber gets the config retained; HA's birth message brings it again live."""
    late = probe(user="consumer")
    late.subscribe(topic)
    assert late.wait_for(topic).retain
    late.publish("homeassistant/status", "online")
    late.wait_for(topic, where=lambda m: not m.retain)


# --- wican-soc ---------------------------------------------------------------------------------


def start_wican_soc(service, tmp_path, env=None):
    return service(
        ["-m", "services.wican_soc"],
        "wican-soc",
        {
            **vehicles_env(),
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "1",
            "CANBRIDGE_HEALTH_FILE": str(tmp_path / "soc.hb"),
            **(env or {}),
        },
    )


def test_vehicle_device_is_announced_retained_and_again_when_ha_restarts(service, probe, tmp_path):
    side = ha_side(probe)
    start_wican_soc(service, tmp_path)
    config = config_of(side, VEHICLE_CONFIG)
    assert config["device"]["identifiers"] == [f"wican_{DEVICE}"]
    assert set(config["components"]) == {"soc", "soc_bms", "hx"}
    assert [a["topic"] for a in config["availability"]] == [
        "canbridge/wican-soc/status",
        f"wican/{DEVICE}/status",
    ]
    assert_retained_and_republished(probe, VEHICLE_CONFIG)


def test_vehicle_availability_follows_the_adapters_status_layout(service, probe, tmp_path):
    side = ha_side(probe)
    start_wican_soc(service, tmp_path)
    config_of(side, VEHICLE_CONFIG)
    adapter = probe(user="wican")
    adapter.publish(f"wican/{DEVICE}/can/status", json.dumps({"status": "online"}))
    moved = config_of(
        side,
        VEHICLE_CONFIG,
        where=lambda m: f"wican/{DEVICE}/can/status" in m.text,
    )
    assert moved["availability"][1]["value_template"] == "{{ value_json.status }}"


def test_vehicle_entities_find_their_values_and_availability(service, probe, tmp_path):
    side = ha_side(probe)
    watcher = probe()
    watcher.subscribe("#")
    start_wican_stack(service, tmp_path)
    config = config_of(side, VEHICLE_CONFIG)
    state = json.loads(watcher.wait_for("canbridge/vehicle/leaf/state").payload)
    for key in config["components"]:
        assert key in state, key
    watcher.wait_for("canbridge/wican-soc/status", "online")
    watcher.wait_for(f"wican/{DEVICE}/status", where=lambda m: json.loads(m.payload)["status"])


def test_vehicle_discovery_off_publishes_nothing(service, probe, tmp_path):
    side = ha_side(probe)
    side.subscribe("canbridge/wican-soc/heartbeat")
    start_wican_soc(service, tmp_path, OFF)
    side.wait_for("canbridge/wican-soc/heartbeat")  # sent after the connect hooks ran
    assert side.received("homeassistant/device/#") == []


# --- bic-gateway -------------------------------------------------------------------------------


def test_bic_device_is_announced_once_identified(service, probe, tmp_path):
    side = ha_side(probe)
    watcher = probe()
    watcher.subscribe("canbridge/bic/0/#")
    start_stack(service, private_bus(), tmp_path)
    config = config_of(side, BIC_CONFIG)
    info = json.loads(watcher.wait_for("canbridge/bic/0/info").payload)
    assert config["device"]["model"] == info["model"]
    assert config["device"]["identifiers"] == [f"bic2200_{info['serial']}"]
    number = config["components"]["setpoint_power"]
    assert number["max"] == int(info["rated_current_a"] * info["nominal_voltage"])
    # every sensor's and the switch's state topic carries data
    for key, comp in config["components"].items():
        if comp["platform"] in ("sensor", "switch"):
            watcher.wait_for(comp["state_topic"])
        if comp["platform"] == "binary_sensor":
            fault = json.loads(watcher.wait_for(comp["state_topic"]).payload)
            assert key.removeprefix("fault_") in fault["flags"]
    charged = watcher.wait_for("canbridge/bic/0/energy_charged")
    assert float(charged.text) >= 0
    assert_retained_and_republished(probe, BIC_CONFIG)


def test_bic_setpoint_number_reads_back_the_applied_power(service, probe, tmp_path):
    side = ha_side(probe)
    watcher = probe()
    watcher.subscribe("canbridge/bic/0/#")
    start_stack(service, private_bus(), tmp_path)
    number = config_of(side, BIC_CONFIG)["components"]["setpoint_power"]
    watcher.wait_for("canbridge/bic/0/state")
    admin = probe()
    admin.publish(number["command_topic"], "-500")
    setpoint = watcher.wait_for(
        number["state_topic"], where=lambda m: json.loads(m.payload).get("source") == "power"
    )
    assert json.loads(setpoint.payload)["power_w"] == pytest.approx(-500, abs=2)


def test_bic_discovery_off_publishes_nothing(service, probe, tmp_path):
    side = ha_side(probe)
    side.subscribe("canbridge/bic/0/availability")
    start_stack(service, private_bus(), tmp_path, gateway=OFF)
    side.wait_for("canbridge/bic/0/availability", "online")  # sent right after the announcement
    assert side.received("homeassistant/device/#") == []


# --- charge-controller -------------------------------------------------------------------------


def start_controller(service, tmp_path, env=None):
    return service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "1",
            "CANBRIDGE_HEALTH_FILE": str(tmp_path / "cc.hb"),
            "CANBRIDGE_RUNTIME_STATE_FILE": str(tmp_path / "cc-runtime.json"),
            **(env or {}),
        },
    )


def test_controller_device_is_announced_and_its_controls_work(service, probe, tmp_path):
    side = ha_side(probe)
    watcher = probe()
    watcher.subscribe("canbridge/charge-controller/state")
    start_controller(service, tmp_path)
    comps = config_of(side, CONTROLLER_CONFIG)["components"]
    assert {"enabled", "mode", "target_w"} <= set(comps)
    state = json.loads(watcher.wait_for(comps["enabled"]["state_topic"]).payload)
    for key in ("enabled", "mode", "target_w", "grid_w", "battery_w", "setpoint_w"):
        assert key in state
    admin = probe()  # stands in for HA with a user that may send commands
    admin.publish(comps["enabled"]["command_topic"], comps["enabled"]["payload_off"])
    watcher.wait_for(
        comps["enabled"]["state_topic"], where=lambda m: not json.loads(m.payload)["enabled"]
    )
    admin.publish(comps["mode"]["command_topic"], "hold")
    watcher.wait_for(
        comps["mode"]["state_topic"], where=lambda m: json.loads(m.payload)["mode"] == "hold"
    )
    admin.publish(comps["target_w"]["command_topic"], "25")
    watcher.wait_for(
        comps["target_w"]["state_topic"], where=lambda m: json.loads(m.payload)["target_w"] == 25
    )
    assert_retained_and_republished(probe, CONTROLLER_CONFIG)


def test_controller_discovery_off_publishes_nothing(service, probe, tmp_path):
    side = ha_side(probe)
    side.subscribe("canbridge/charge-controller/state")
    start_controller(service, tmp_path, OFF)
    side.wait_for("canbridge/charge-controller/state")  # published after the connect hooks
    assert side.received("homeassistant/device/#") == []
