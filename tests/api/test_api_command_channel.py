"""The api's command channel on a real broker: it takes only the answer to its own command."""

from __future__ import annotations

import json
import threading

import pytest
from harness import TIMEOUT, probe_login

from services.api.commands import CommandChannel
from shared.mqtt_client import MqttClient
from shared.settings import MqttSettings

BASE = "canbridge"
OWN = f"{BASE}/charge-controller"


def api_client(broker) -> MqttClient:
    login = probe_login("api", 3)  # a spare login with the api's rights
    settings = MqttSettings(host=broker.host, port=broker.port, username=login)
    return MqttClient(settings, "api", BASE, password=broker.passwords[login], availability=False)


@pytest.fixture
def channel_and_controller(broker, probe):
    """The api's channel on a real client, and a probe that plays the controller by hand."""
    controller = probe("charge-controller")
    controller.subscribe(f"{OWN}/set/#")
    client = api_client(broker)
    channel = CommandChannel(client, BASE, "charge-controller")
    client.start()
    assert client.wait_ready(TIMEOUT)
    yield channel, controller
    client.stop()


def test_an_answer_to_somebody_elses_command_is_not_taken_for_ours(channel_and_controller):
    channel, controller = channel_and_controller
    results: dict = {}
    sender = threading.Thread(
        target=lambda: results.update(channel.send({"mode": "hold"}, timeout=TIMEOUT))
    )
    sender.start()
    command = controller.wait_for(f"{OWN}/set/mode")
    assert command.correlation and len(command.correlation) <= 64

    def answer(value: str, ok: bool, correlation: bytes | None) -> None:
        body = {"parameter": "mode", "ok": ok, "value": value, "error": None if ok else "no"}
        controller.publish(f"{OWN}/command_result", json.dumps(body), correlation=correlation)

    answer("auto", True, None)  # Home Assistant's command for the same parameter, a v3 client
    answer("off", False, b"somebody-else")  # a script's, with its own correlation
    answer("hold", True, command.correlation)  # ours
    sender.join(TIMEOUT)
    assert results == {"mode": {"parameter": "mode", "ok": True, "value": "hold", "error": None}}


def test_no_answer_in_time_is_none_not_somebody_elses(channel_and_controller):
    channel, controller = channel_and_controller
    results: dict = {}
    sender = threading.Thread(
        target=lambda: results.update(channel.send({"enabled": False}, timeout=3))
    )
    sender.start()
    controller.wait_for(f"{OWN}/set/enabled")
    body = {"parameter": "enabled", "ok": True, "value": False, "error": None}
    controller.publish(f"{OWN}/command_result", json.dumps(body))  # no correlation: not ours
    sender.join(TIMEOUT)
    assert results == {"enabled": None}
