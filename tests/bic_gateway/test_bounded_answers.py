"""The gateway's answers to hostile commands: each on the error topic, small, and logged once."""

from __future__ import annotations

import json
import time
from typing import Any

import paho.mqtt.client as mqtt
from structlog.testing import capture_logs

from services.bic_gateway.gateway import Gateway
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.settings import BicGatewaySettings
from shared.payload_limits import ECHO_CHARS, MESSAGE_CHARS


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []

    def publish_json(self, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> None:
        self.messages.append((topic, payload))

    publish = publish_json


def command(name: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=f"canbridge/bic/0/set/{name}".encode())
    msg.payload = payload
    return msg


def gateway(tmp_path, clock=time.monotonic) -> tuple[Gateway, Recorder]:
    client = Recorder()
    store = StateStore(tmp_path / "state.json").load()
    # no bus needed: every command below is refused while it is parsed (NoBus stands in for
    # the CAN transport, which has no protocol of its own yet)
    gw = Gateway(BicGatewaySettings(), client, transport=NoBus(), store=store, clock=clock)  # type: ignore[arg-type]
    return gw, client


class NoBus:
    """Stands in for the CAN transport, which these refusals never reach."""

    interrupt = None


def test_every_refusal_is_answered_bounded_and_logged_once_per_kind(tmp_path):
    now = [0.0]
    gw, client = gateway(tmp_path, clock=lambda: now[0])
    hostile = [json.dumps({"value": [1] * 5000}).encode(), b'{"value": "' + b"x" * 10_000 + b'"}']
    with capture_logs() as logs:
        for n in range(100):
            gw.on_set(command("power", hostile[n % 2]))
            gw.on_set(command("charge", b'{"var": [1], "val": 1}'))
    now[0] += 1.0  # the flood is over: the bus worker tells what was withheld
    gw.flush_withheld_answers()
    errors = [p for t, p in client.messages if t == "canbridge/bic/0/error"]
    answered = [e for e in errors if e["command"] is not None]
    told = [e["value"] for e in errors if e["command"] is None]
    # answered one by one up to the budget (a burst of 40), the rest counted: nothing untold
    assert len(answered) == 40 and len(answered) + sum(told) == 200
    for error in errors:
        assert len(error["error"]) <= MESSAGE_CHARS + 30
        assert len(json.dumps(error["value"])) <= ECHO_CHARS + 40
    lines = [e for e in logs if e["event"] == "command_error"]
    assert len(lines) <= 3  # one per kind of error, not 200
    assert {e["command"] for e in lines} == {"power", "charge"}
