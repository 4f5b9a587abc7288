"""The settings pattern: env beats file, the service section beats the top level."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from shared.settings import ConfigError, MqttSettings, ServiceSettings, load_settings, redact


class DemoSettings(ServiceSettings):
    section: ClassVar[str] = "api"
    http_port: int = 8080


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("CANBRIDGE_"):
            monkeypatch.delenv(key)


def write(tmp_path, text):
    path = tmp_path / "canbridge.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file_or_env():
    s = load_settings(DemoSettings)
    assert (s.base_topic, s.mqtt.host, s.mqtt.port, s.http_port) == (
        "canbridge",
        "127.0.0.1",
        1883,
        8080,
    )


def test_file_top_level_and_section_merge(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        "mqtt: {host: broker, port: 1884}\nlog_level: debug\n"
        "api: {http_port: 9000, mqtt: {port: 1885}}\n"
        "bic-gateway: {whatever: 1}\n",
    )
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(path))
    s = load_settings(DemoSettings)
    assert s.mqtt.host == "broker"  # from the top level
    assert s.mqtt.port == 1885  # the service section wins, key by key
    assert s.http_port == 9000
    assert s.log_level == "debug"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_health_file_is_off_from_env_and_file(tmp_path, monkeypatch, value):
    monkeypatch.setenv("CANBRIDGE_HEALTH_FILE", value)
    assert load_settings(DemoSettings).health_file is None
    monkeypatch.delenv("CANBRIDGE_HEALTH_FILE")
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(write(tmp_path, f"health_file: '{value}'\n")))
    assert load_settings(DemoSettings).health_file is None
    monkeypatch.setenv("CANBRIDGE_HEALTH_FILE", "/run/beat")
    assert load_settings(DemoSettings).health_file == Path("/run/beat")


def test_env_beats_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(write(tmp_path, "api: {http_port: 9000}\n")))
    monkeypatch.setenv("CANBRIDGE_HTTP_PORT", "9100")
    monkeypatch.setenv("CANBRIDGE_MQTT__HOST", "envhost")
    s = load_settings(DemoSettings)
    assert (s.http_port, s.mqtt.host) == (9100, "envhost")


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("mqtt: {port: 70000}\n", {}, "mqtt.port"),
        ("api: {http_port: many}\n", {}, "http_port"),
        ("mqtt: {hots: typo}\n", {}, "mqtt.hots"),
        ("", {"CANBRIDGE_LOG_LEVEL": "loud"}, "log_level"),
        ("base_topic: 'canbridge/#'\n", {}, "base_topic"),
        ("unknown_key: 1\n", {}, "unknown_key"),
    ],
)
def test_invalid_values_exit_2_naming_the_key(tmp_path, monkeypatch, capsys, text, env, key):
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(write(tmp_path, text)))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as exc:
        load_settings(DemoSettings)
    assert exc.value.code == 2
    assert key in capsys.readouterr().err


@pytest.mark.parametrize("text", ["- a list\n", "a: [unclosed\n"])
def test_unusable_file_exits_2_with_the_path(tmp_path, monkeypatch, capsys, text):
    path = write(tmp_path, text)
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(path))
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    assert str(path) in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(SystemExit):
        load_settings(DemoSettings)
    assert "cannot read" in capsys.readouterr().err


def test_password_file_wins_and_is_stripped(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    s = MqttSettings(password="inline", password_file=tmp_path / "pw")
    assert s.resolved_password() == "s3cret"
    assert MqttSettings(password="inline").resolved_password() == "inline"
    with pytest.raises(ConfigError, match="mqtt.password_file"):
        MqttSettings(password_file=tmp_path / "missing").resolved_password()


def test_password_is_not_in_repr():
    assert "hunter2" not in repr(MqttSettings(password="hunter2"))


def test_redacted_hides_secrets_but_not_their_file_paths(tmp_path):
    s = DemoSettings(mqtt={"password": "hunter2", "password_file": str(tmp_path / "pw")})
    data = s.redacted()
    assert data["mqtt"]["password"] == "***"
    assert data["mqtt"]["password_file"] == str(tmp_path / "pw")
    assert "hunter2" not in repr(data)
    assert redact({"a": [{"api_token": "x", "secret_key": None}]}) == {
        "a": [{"api_token": "***", "secret_key": None}]
    }


def test_a_tool_beside_a_service_gets_its_own_login():
    service = MqttSettings(username="bic-gateway", password_file=Path("/secrets/bic-gateway"))
    tool = service.tool_login("bic-gateway", "bic-cli")
    assert (tool.username, tool.password_file) == ("bic-cli", Path("/secrets/bic-cli"))
    assert MqttSettings().tool_login("wican-soc", "wican-record").username == "wican-record"
    chosen = MqttSettings(username="admin", password_file=Path("/secrets/admin"))
    assert chosen.tool_login("bic-gateway", "bic-cli") == chosen
