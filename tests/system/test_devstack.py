"""`make demo`'s launcher: broker + services come up, Ctrl-C stops everything."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from harness import PROJECT, TIMEOUT, Probe

from services.broker_setup.local_broker import LocalBroker, free_port
from services.devstack.__main__ import COMPONENTS, available

pytestmark = pytest.mark.integration  # starts processes


def test_only_existing_modules_are_started():
    names = [c.module for c in available(COMPONENTS)]
    assert "services.api" in names
    assert "services.no_such_service" not in names


def test_demo_runs_the_api_against_the_project_broker_and_stops_on_sigint():
    mqtt_port, api_port = free_port(), free_port()
    demo_dir = Path(tempfile.mkdtemp(prefix="canbridge-demo-"))
    demo_dir.chmod(0o755)  # as root, mosquitto reads its files as its own user
    env = {
        **os.environ,
        "CANBRIDGE_DEMO_MQTT_PORT": str(mqtt_port),
        "CANBRIDGE_DEMO_API_PORT": str(api_port),
        "CANBRIDGE_DEMO_DIR": str(demo_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.devstack"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # the demo prints a line per step; read until it says everything is started
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "health at" in line:
                break
        assert any("started services.api" in x for x in lines), lines
        # same generated passwords as the demo uses: log in as admin and see the API online
        broker = LocalBroker.__new__(LocalBroker)
        broker.host, broker.port = "127.0.0.1", mqtt_port
        broker.passwords = {
            "admin": (demo_dir / "broker" / "secrets" / "admin").read_text().strip()
        }
        watcher = Probe(broker, "admin")
        try:
            watcher.subscribe("canbridge/api/heartbeat")
            watcher.wait_for("canbridge/api/heartbeat")
        finally:
            watcher.close()
        assert httpx.get(f"http://127.0.0.1:{api_port}/livez", timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=TIMEOUT)[0]
        assert proc.returncode == 0
        assert "demo: stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(demo_dir, ignore_errors=True)
