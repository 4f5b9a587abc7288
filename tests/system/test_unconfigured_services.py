"""The plain stack's first run: controller and gateway say what is missing and touch nothing."""

from __future__ import annotations

import json

import pytest
from api.dashboard_stack import with_config
from harness import PROJECT

from shared.contract.payloads import ControllerUnconfigured, Heartbeat

pytestmark = pytest.mark.integration


def test_controller_without_meter_publishes_not_configured_and_no_setpoint(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/#")
    proc = service(
        with_config("services.charge_controller", PROJECT / "config" / "canbridge.yaml"),
        "charge-controller",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.3"},
    )
    watcher.wait_for("canbridge/charge-controller/state")
    later = probe()  # a client connecting later (the API) gets it retained
    later.subscribe("canbridge/charge-controller/state")
    state = later.wait_for("canbridge/charge-controller/state")
    assert state.retain
    body = json.loads(state.payload)
    assert body["configured"] is False
    assert "no grid meter configured" in body["reason"]
    assert body["docs"] == "charge-controller.md#configuration"
    ControllerUnconfigured.model_validate(body)  # the contract's model of it
    # three heartbeats later: still no setpoint for any unit
    watcher.wait_for(
        "canbridge/charge-controller/heartbeat",
        where=lambda _m: len(watcher.received("canbridge/charge-controller/heartbeat")) >= 3,
    )
    for beat in watcher.received("canbridge/charge-controller/heartbeat"):
        assert Heartbeat.model_validate_json(beat.payload).interval_s == 0.3
    assert watcher.received("canbridge/bic/+/set/#") == []
    assert proc.terminate() == 0
    assert "controller_not_configured" in proc.log()


def test_gateway_without_units_leaves_the_bus_alone_and_stays_up(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/bic-gateway/#")
    proc = service(
        with_config("services.bic_gateway", PROJECT / "config" / "canbridge.yaml"),
        "bic-gateway",
        {
            "CANBRIDGE_STATE_FILE": "/nonexistent/state.json",
            # an interface that cannot open here: the gateway must not even try
            "CANBRIDGE_CAN__INTERFACE": "socketcan",
            "CANBRIDGE_CAN__CHANNEL": "nosuchcan9",
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.3",
        },
    )
    watcher.wait_for("canbridge/bic-gateway/status", "online")
    watcher.wait_for(
        "canbridge/bic-gateway/heartbeat",
        where=lambda _m: len(watcher.received("canbridge/bic-gateway/heartbeat")) >= 3,
    )
    config = json.loads(watcher.wait_for("canbridge/bic-gateway/config").payload)
    assert config["units"] == []
    assert proc.terminate() == 0
    log = proc.log()
    assert "no_units_configured" in log
    assert "can_bus" not in log
