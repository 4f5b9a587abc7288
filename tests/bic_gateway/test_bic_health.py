"""Honest health: a gateway whose CAN interface cannot be opened says it is failing, and why, in
/health, on the status page and to the container healthcheck; it logs the cause once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from bic_gateway.bic_stack import gateway_env
from harness import PROJECT, Api, answering, wait_until

from services.bic_gateway.__main__ import RETRY_BUS_S

pytestmark = pytest.mark.integration

MISSING = {"CANBRIDGE_CAN__INTERFACE": "socketcan", "CANBRIDGE_CAN__CHANNEL": "cbmissing0"}
REASON = "CAN interface socketcan 'cbmissing0' cannot be opened"


@pytest.mark.long(12)
def test_missing_can_interface_is_reported_failing_with_the_reason(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    env = gateway_env(MISSING, tmp_path, CANBRIDGE_HEARTBEAT_INTERVAL_S="0.5")
    gateway = service(["-m", "services.bic_gateway"], "bic-gateway", env)

    def gateway_health():
        return api.get("/health").json()["services"].get("bic-gateway") or {}

    wait_until(watcher, lambda: REASON in (gateway_health().get("reason") or ""), "failing")
    health = api.get("/health")
    assert health.status_code == 503
    entry = health.json()["services"]["bic-gateway"]
    assert entry["up"] is False and entry["status"] == "online"  # running, but cannot work
    assert entry["reason"].startswith(f"failing: {REASON}: ")
    assert entry["problem"] == entry["reason"].removeprefix("failing: ")

    page = api.get("/status").text
    assert "<td>bic-gateway</td><td>failing</td><td>failing: CAN interface socketcan" in page

    check = subprocess.run(
        [sys.executable, "-m", "shared.healthcheck"],
        cwd=PROJECT,
        env={**os.environ, "CANBRIDGE_HEALTH_FILE": env["CANBRIDGE_HEALTH_FILE"]},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 1 and check.stdout.startswith(f"failing: {REASON}")

    controller = probe("charge-controller")
    for value in range(5):  # commands meanwhile: refused, and logged once, not each
        assert controller.publish("canbridge/bic/0/set/power", str(-100 * value)) == 0

    # two more attempts to open the bus later, the cause is still in the log only once
    watcher.wait_for(
        "canbridge/bic-gateway/heartbeat",
        where=lambda m: json.loads(m.payload)["uptime_s"] > 2 * RETRY_BUS_S + 1,
        timeout=2 * RETRY_BUS_S + 15,
    )
    lines = [json.loads(line) for line in gateway.log().splitlines() if line.startswith("{")]
    unavailable = [line for line in lines if line["event"] == "can_bus_unavailable"]
    assert len(unavailable) == 1, unavailable
    assert unavailable[0]["level"] == "error" and unavailable[0]["next_reminder_s"] == 600
    assert unavailable[0]["reason"].startswith(REASON)
    dropped = [line for line in lines if line["event"] == "command_dropped"]
    assert len(dropped) == 1 and dropped[0]["reason"] == "CAN bus not open yet"
