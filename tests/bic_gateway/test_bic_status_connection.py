"""Which connection carries the controller's status (services/bic_gateway/__main__.py)."""

from __future__ import annotations

from types import SimpleNamespace

from services.bic_gateway.__main__ import WATCH_LOGIN, status_connection
from services.bic_gateway.settings import BicGatewaySettings
from shared.mqtt_client import MqttClient
from shared.settings import MqttSettings


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def warning(self, event: str, **fields) -> None:
        self.events.append(("warning", event, fields))

    def error(self, event: str, **fields) -> None:
        self.events.append(("error", event, fields))


def runtime() -> SimpleNamespace:
    return SimpleNamespace(log=Log(), client=object())


def settings(tmp_path, username: str | None = "bic-gateway", watch_secret: bool = True):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "bic-gateway").write_text("gw-password\n")
    if watch_secret:
        (secrets / WATCH_LOGIN).write_text("watch-password\n")
    mqtt = MqttSettings(username=username, password_file=secrets / "bic-gateway")
    return BicGatewaySettings(mqtt=mqtt)


def test_the_default_login_gets_a_second_connection_of_its_own(tmp_path):
    rt = runtime()
    watch = status_connection(settings(tmp_path), rt)
    assert isinstance(watch, MqttClient) and watch is not rt.client
    assert watch._client._username == WATCH_LOGIN.encode()
    assert watch._client._password == b"watch-password"
    assert watch._availability is False  # says nothing on the gateway's status topic
    assert rt.log.events == []


def test_a_login_of_your_own_keeps_one_connection_and_says_what_that_costs(tmp_path):
    rt = runtime()
    assert status_connection(settings(tmp_path, username="my-gateway"), rt) is rt.client
    [(level, event, fields)] = rt.log.events
    assert (level, event) == ("warning", "controller_status_on_command_connection")
    assert "'my-gateway'" in fields["reason"] and "watchdog" in fields["reason"]


def test_a_missing_watch_password_keeps_one_connection_and_says_how_to_fix_it(tmp_path):
    rt = runtime()
    assert status_connection(settings(tmp_path, watch_secret=False), rt) is rt.client
    [(level, event, fields)] = rt.log.events
    assert (level, event) == ("error", "controller_status_on_command_connection")
    assert WATCH_LOGIN in fields["reason"] and "broker set-up" in fields["reason"]
