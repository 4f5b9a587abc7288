"""A retained command on the gateway (shared.contract.retained): ignored, answered on `error`,
logged once per topic."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from bic_gateway.test_bic_bus_errors import RecordingClient as Recorder
from structlog.testing import capture_logs

from services.bic_gateway.gateway import Gateway
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.settings import BicGatewaySettings
from shared.contract.payloads import UnitError
from shared.contract.retained import EVENT, REASON


class NoBus:
    """Stands in for the CAN transport, which a refused command never reaches."""

    interrupt = None


def retained(name: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=f"canbridge/bic/0/set/{name}".encode())
    msg.payload = payload
    msg.retain = True
    return msg


def test_a_retained_command_is_answered_and_logged_once_but_never_applied(tmp_path):
    client = Recorder()
    store = StateStore(tmp_path / "state.json").load()
    gw = Gateway(BicGatewaySettings(), client, transport=NoBus(), store=store, clock=lambda: 0.0)
    with capture_logs() as logs:
        for _ in range(3):
            gw.on_set(retained("power", b"-400"))
    errors = [UnitError(**p) for t, p in client.messages if t == "canbridge/bic/0/error"]
    assert [(e.command, e.error, e.value) for e in errors] == [("power", REASON, "-400")] * 3
    assert [t for t, _p in client.messages if t != "canbridge/bic/0/error"] == []
    assert len(gw._queue) == 0  # nothing queued for the bus
    lines = [e for e in logs if e["event"] == EVENT]
    assert len(lines) == 1 and lines[0]["topic"] == "canbridge/bic/0/set/power"
