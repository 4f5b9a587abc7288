"""AutoPID input end to end: the simulator as an adapter in AutoPID mode, wican-soc, the broker."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from wican_soc.wican_stack import RX, SET, SOC_TOPIC, STATUS, TX, soc_of, start_stack, wait_soc

pytestmark = pytest.mark.integration
AUTOPID_VEHICLE = {"source": "autopid", "autopid": {"values": {"soc": "SOC", "soh": "SOH"}}}
AUTOPID_SIM = {"CANBRIDGE_AUTOPID_INTERVAL_S": "0.5"}


def autopid_vehicle(**extra) -> dict:
    # the stack's default vehicle has a profile; an AutoPID vehicle has none
    return {**AUTOPID_VEHICLE, "profile": "", **extra}


def test_autopid_values_are_published_like_raw_ones(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("#")
    start_stack(service, tmp_path, sim_env=AUTOPID_SIM, vehicle=autopid_vehicle())
    watcher.wait_for(STATUS, '{"status": "online"}')
    message = wait_soc(watcher, 55.0)
    data = json.loads(message.payload)
    assert data["soh"] == 97.5 and data["vehicle"] == "leaf"
    assert datetime.fromisoformat(data["time"]).utcoffset() is not None
    state = json.loads(watcher.wait_for("canbridge/vehicle/leaf/state").payload)
    assert state["profile"] == "autopid" and state["units"] == {"soc": "%", "soh": ""}
    watcher.wait_for("canbridge/vehicle/leaf/soc", "55.0")
    # the SoC follows the car; nobody sends raw requests to an AutoPID adapter
    watcher.publish(SET, json.dumps({"soc": 61.25}))
    wait_soc(watcher, 61.25)
    assert watcher.received(TX) == []
    assert all(b'"frame"' not in m.payload for m in watcher.received(RX))


def test_retained_autopid_value_is_stale_and_not_republished(service, probe, tmp_path):
    admin = probe()
    # what an adapter left on the broker before it went to sleep (AutoPID retains, undated)
    admin.publish(RX, json.dumps({"SOC": 12.0, "SOH": 90}), retain=True)
    admin.publish(STATUS, '{"status": "offline"}', retain=True)
    watcher = probe()
    watcher.subscribe(SOC_TOPIC)
    watcher.subscribe(STATUS)
    # its heartbeat (every second) wakes the wait below to read the log again: with nothing
    # else arriving, the wait only looked again at its 15 s timeout
    watcher.subscribe("canbridge/wican-soc/heartbeat")
    stack = start_stack(
        service, tmp_path, sim_env={**AUTOPID_SIM, "CANBRIDGE_AWAKE": "false"},
        vehicle=autopid_vehicle(),
    )  # fmt: skip
    watcher.wait(lambda: "autopid_retained_ignored" in stack.soc.log(), "stale value ignored")
    assert watcher.received(SOC_TOPIC) == []
    # the simulator is connected and listens for SET: it subscribes before it sends its status
    # (a live one, not the retained one above)
    watcher.wait_for(STATUS, where=lambda m: not m.retain)
    admin.publish(SET, json.dumps({"awake": True, "soc": 47.5}))
    assert soc_of(wait_soc(watcher, 47.5)) == 47.5
    assert not [m for m in watcher.received(SOC_TOPIC) if soc_of(m) == 12.0]
