"""What the gateway really publishes matches the topic contract's payload models
(shared.contract.payloads): every JSON message of a BIC-2200 and of an NPB, driven through
setpoints, a refused command, a CLI request and a watchdog idle."""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import json_where, payload
from pydantic import BaseModel

from shared.contract import payloads as p
from shared.contract.topics import UnitTopics, heartbeat_topic

pytestmark = pytest.mark.integration

UNIT = UnitTopics("canbridge", 0)
MODELS: dict[str, type[BaseModel]] = {
    UNIT.state: p.UnitState,
    UNIT.info: p.UnitInfo,
    UNIT.fault: p.UnitFault,
    UNIT.setpoint: p.UnitSetpoint,
    UNIT.wear: p.UnitWear,
    UNIT.error: p.UnitError,
    UNIT.reply: p.UnitReply,
    heartbeat_topic("canbridge", "bic-gateway"): p.Heartbeat,
}


def validate_everything(watcher) -> dict[str, int]:
    """Every message the watcher got on a modelled topic, validated; counts per topic."""
    seen: dict[str, int] = {}
    for topic, model in MODELS.items():
        for msg in watcher.received(topic):
            if msg.payload:
                model.model_validate(json.loads(msg.payload))
                seen[topic] = seen.get(topic, 0) + 1
    return seen


def test_a_bic_publishes_what_the_contract_describes(stack, probe):
    watcher, _bus, _procs = stack(gateway={"CANBRIDGE_WATCHDOG__TIMEOUT_S": "2"})
    controller, admin = probe("charge-controller"), probe("admin")
    controller.publish(UNIT.set("power"), json.dumps({"value": -500}))
    watcher.wait_for(UNIT.setpoint, where=json_where(direction="discharge"))
    controller.publish(UNIT.set("power"), "-99999")  # refused on `error`
    watcher.wait_for(UNIT.error)
    admin.publish(UNIT.set("cmd"), json.dumps({"id": "r1", "cmd": "cvread"}))  # answered
    watcher.wait_for(UNIT.reply, where=json_where(id="r1", ok=True))
    admin.publish(UNIT.set("cmd"), json.dumps({"id": "r2", "cmd": "cvset", "value": 99}))
    watcher.wait_for(UNIT.reply, where=json_where(id="r2", ok=False))
    watcher.wait_for(UNIT.setpoint, where=json_where(mode="safe_idle"))  # the watchdog
    watcher.wait_for(UNIT.wear)
    watcher.wait_for(heartbeat_topic("canbridge", "bic-gateway"))
    seen = validate_everything(watcher)
    assert set(seen) == set(MODELS), f"not seen: {set(MODELS) - set(seen)}"


def test_an_npb_publishes_what_the_contract_describes(stack, probe):
    watcher, _bus, _procs = stack(sim={"CANBRIDGE_MODEL": "NPB-1200-48"})
    info = p.UnitInfo.model_validate(json.loads(watcher.wait_for(UNIT.info).payload))
    assert info.family == "NPB" and info.battery_mode is None and info.curve_config is not None
    p.UnitState.model_validate(payload(watcher.wait_for(UNIT.state)))
    probe("charge-controller").publish(UNIT.set("power"), "300")
    watcher.wait_for(UNIT.error)  # in charger mode it is not controllable: refused
    seen = validate_everything(watcher)
    assert {UNIT.info, UNIT.state, UNIT.error} <= set(seen)
