"""A real service process: online, heartbeat, offline on SIGTERM, will on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from harness import TIMEOUT

from services.broker_setup.local_broker import free_port
from shared.healthcheck import check
from shared.heartbeat import touch

pytestmark = pytest.mark.integration  # starts processes


def start_api(service, **env):
    return service(
        ["-m", "services.api"],
        "api",
        {
            "CANBRIDGE_HTTP_PORT": str(free_port()),
            "CANBRIDGE_HTTP_HOST": "127.0.0.1",
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5",
            **env,
        },
    )


def test_service_announces_online_and_heartbeats(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/api/#")
    start_api(service)
    watcher.wait_for("canbridge/api/status", "online")
    hb = json.loads(watcher.wait_for("canbridge/api/heartbeat").payload)
    assert hb["service"] == "api"
    assert hb["topic_api"] == 2
    assert hb["interval_s"] == 0.5
    assert isinstance(hb["version"], str) and hb["version"]
    assert hb["uptime_s"] >= 0
    assert hb["rejected_payloads"] == 0
    # heartbeats keep coming
    watcher.wait(lambda: len(watcher.received("canbridge/api/heartbeat")) >= 3, "three heartbeats")


def test_sigterm_stops_cleanly_and_publishes_offline(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/api/status")
    proc = start_api(service)
    watcher.wait_for("canbridge/api/status", "online")
    # uvicorn re-raises the signal after its graceful shutdown (exit 143 in Docker)
    assert proc.terminate() in (0, -signal.SIGTERM)
    watcher.wait_for("canbridge/api/status", "offline")
    assert '"event": "mqtt_stopped"' in proc.log()


def test_killed_service_is_reported_offline_by_its_will(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/api/status")
    proc = start_api(service)
    watcher.wait_for("canbridge/api/status", "online")
    proc.kill()
    msg = watcher.wait_for("canbridge/api/status", "offline", timeout=TIMEOUT)
    assert msg.text == "offline"


def test_invalid_config_exits_nonzero_naming_the_key(service):
    proc = service(["-m", "services.api"], "api", {"CANBRIDGE_MQTT__PORT": "not-a-port"})
    assert proc.proc.wait(TIMEOUT) == 2
    assert "mqtt.port" in proc.log()


def test_unreadable_password_file_exits_nonzero_naming_the_key(service, tmp_path):
    proc = service(
        ["-m", "services.api"], "api", {"CANBRIDGE_MQTT__PASSWORD_FILE": str(tmp_path / "missing")}
    )
    assert proc.proc.wait(TIMEOUT) == 2
    assert "mqtt.password_file" in proc.log()


def test_heartbeat_file_feeds_the_container_healthcheck(service, probe, tmp_path):
    health = tmp_path / "hb"
    env = {
        **os.environ,
        "CANBRIDGE_HEALTH_FILE": str(health),
        "CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5",
    }

    def healthcheck():
        return subprocess.run(
            [sys.executable, "-m", "shared.healthcheck"],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    before = healthcheck()
    assert before.returncode == 1 and "missing" in before.stdout
    watcher = probe()
    watcher.subscribe("canbridge/api/heartbeat")
    start_api(service, CANBRIDGE_HEALTH_FILE=str(health))
    watcher.wait_for("canbridge/api/heartbeat")
    watcher.wait(health.exists, "heartbeat file")
    assert healthcheck().returncode == 0


def test_healthcheck_says_stale_after_three_of_the_services_own_intervals(tmp_path):
    health = tmp_path / "hb"
    touch(health, 10)
    mtime = health.stat().st_mtime
    assert check(health, now=mtime + 29)[0] is True
    ok, reason = check(health, now=mtime + 31)
    assert ok is False and "limit 30 s" in reason
    touch(health, 60)  # a service with a longer interval in its own section
    mtime = health.stat().st_mtime
    assert check(health, now=mtime + 170)[0] is True
    assert check(health, now=mtime + 181)[0] is False


def test_healthcheck_rejects_a_file_without_an_interval(tmp_path):
    health = tmp_path / "hb"
    health.write_text("")
    ok, reason = check(health)
    assert ok is False and "interval" in reason
