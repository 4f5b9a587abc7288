"""A command flood against the real broker, gateway process and simulator: safe idle still comes
first, polling goes on, and no setpoint of a controller that went offline is applied after it.

The timing goals (safe idle within 100 ms, polling never stalled for 2 s) are measured by
``make bench-bic`` (bench/bic.py, "flood"); this test checks the behaviour, not the clock.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import threading

import paho.mqtt.client as mqtt
import pytest
from bic_gateway.bic_stack import (
    assert_no_violations,
    json_where,
    payload,
    private_bus,
    start_stack,
)
from harness import PROJECT

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"
STATUS = "canbridge/charge-controller/status"
SAFE_IDLE_REGISTERS = {"VOUT_SET", "REVERSE_VOUT_SET", "IOUT_SET", "REVERSE_IOUT_SET"}


RATE = 1000  # messages/s: far beyond any legitimate use, and below what the gateway can take in


class Flood:
    """Home-Assistant-like and CLI-like commands, QoS 1, ``RATE`` messages/s.

    Not faster: beyond what the gateway's MQTT connection takes in, the broker drops messages to
    it once ``max_queued_messages`` wait (docs/bic2200.md, "Command queue"), whatever their topic.
    """

    def __init__(self, broker) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="flood-admin", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set("admin", broker.passwords["admin"])
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        commands = itertools.cycle(["vread", "statusread", "cread", "faultread"])
        for i in itertools.count():
            if self.stop.wait(2 / RATE):  # pacing, not synchronisation
                return
            self.client.publish(f"{BASE}/set/state", str(i % 2), qos=1)
            cli = json.dumps({"id": f"f{i}", "cmd": next(commands)})
            self.client.publish(f"{BASE}/set/cmd", cli, qos=1)
            self.sent += 2

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.client.loop_stop()
        self.client.disconnect()


def events(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_flood_keeps_safe_idle_first_polls_going_and_drops_stale_setpoints(
    broker, probe, service, tmp_path
):
    watcher = probe("admin")  # not the flood's echoes: a probe re-scans all it got on each message
    for topic in (STATUS, *(f"{BASE}/{t}" for t in ("availability", "setpoint", "state"))):
        watcher.subscribe(topic)
    replies = probe("admin")
    replies.subscribe(f"{BASE}/reply")
    _sim, gateway = start_stack(service, private_bus(), tmp_path)
    watcher.wait_for(f"{BASE}/availability", "online")
    controller = service(["tests/bic_gateway/flood_controller.py"], "charge-controller")
    watcher.wait_for(STATUS, "online")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))

    flood = Flood(broker)
    try:
        # saturated: the bounded command class refuses, it does not grow
        full = payload(replies.wait_for(f"{BASE}/reply", where=json_where(ok=False)))
        assert "command queue full (16 waiting for unit 0)" in full["error"]
        replies.close()

        controller.kill()  # SIGKILL: only its last will says `offline`
        watcher.wait_for(STATUS, "offline")
        idle = watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle"))
        assert payload(idle)["idle_reason"] == "controller is offline"

        # polling goes on while the flood does: three more measurement rounds after the idle
        seen = len(watcher.received(f"{BASE}/state"))
        watcher.wait(
            lambda: len(watcher.received(f"{BASE}/state")) >= seen + 3,
            "state updates during the flood",
        )
        assert not flood.stop.is_set() and flood.thread.is_alive()
    finally:
        flood.close()
    assert flood.sent >= 100

    # after the safe idle, the setpoint topic says nothing but safe idle
    with watcher.cond:
        after = watcher.messages[watcher.messages.index(idle) :]
    setpoints = [payload(m) for m in after if m.topic == f"{BASE}/setpoint"]
    assert all(sp.get("mode") == "safe_idle" for sp in setpoints), setpoints

    # the worker's own order: once it took the `offline`, the safe idle was the next thing
    # written, and no discharge setpoint was written after it
    log = events(gateway.log())
    taken = next(
        i
        for i, e in enumerate(log)
        if e["event"] == "controller_status" and e["went_offline"] is True
    )
    later = [e for e in log[taken:] if e["event"] in ("safe_idle", "register_written")]
    assert later[0]["event"] == "safe_idle", later[:5]
    written = [e for e in later if e["event"] == "register_written"]
    idle_writes = list(itertools.takewhile(lambda e: e["register"] != "OPERATION", written))
    assert idle_writes and {e["register"] for e in idle_writes} <= {
        *SAFE_IDLE_REGISTERS,
        "DIRECTION_CTRL",
    }
    assert not [e for e in written if e["register"] == "DIRECTION_CTRL" and e["value"] == 1]
    stale = [
        e
        for e in written[len(idle_writes) :]
        if e["register"] in SAFE_IDLE_REGISTERS | {"DIRECTION_CTRL"}
    ]
    assert stale == [], "only set/state (OPERATION) may write after the safe idle"
    dropped = [e for e in log if e["event"] == "command_dropped"]
    assert {"queue_full"} <= {e["reason"] for e in dropped}
    assert len(dropped) < 10, "dropped commands are logged once per kind, not once each"
    # under the flood the gateway still kept the manual's request timing (and every other rule)
    sim_watch = probe("admin")
    sim_watch.subscribe("canbridge/sim/bic/#")
    assert_no_violations(sim_watch)


def broker_limit(name: str) -> int:
    """A per-client limit from the project's mosquitto.conf (the harness runs that file)."""
    conf = (PROJECT / "mosquitto" / "mosquitto.conf").read_text()
    found = re.search(rf"^{name} (\d+)$", conf, re.MULTILINE)
    assert found, f"{name} not in mosquitto.conf"
    return int(found.group(1))


def test_a_flood_the_broker_drops_cannot_hide_the_controllers_offline(
    broker, probe, service, tmp_path
):
    """The broker holds at most ``max_inflight_messages`` + ``max_queued_messages`` QoS 1
    messages for a client that does not read, and drops the rest, whatever their topic. Frozen
    (SIGSTOP) under a flood larger than that, the gateway's command connection loses the
    controller's last will; its second connection, which reads only status topics, still
    brings the ``offline``: safe idle for that reason, not the watchdog's (600 s here)."""
    watcher = probe("admin")
    for topic in (STATUS, f"{BASE}/availability", f"{BASE}/setpoint"):
        watcher.subscribe(topic)
    _sim, gateway = start_stack(service, private_bus(), tmp_path)
    watcher.wait_for(f"{BASE}/availability", "online")
    controller = service(["tests/bic_gateway/flood_controller.py"], "charge-controller")
    watcher.wait_for(STATUS, "online")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))

    flooder = probe("admin")
    held = broker_limit("max_inflight_messages") + broker_limit("max_queued_messages")

    def flood(count: int) -> None:
        sent = [flooder.client.publish(f"{BASE}/set/cmd", '{"cmd":"vread"}', qos=1)
                for _ in range(count)]  # fmt: skip
        for info in sent:
            info.wait_for_publish(30)
        assert all(info.is_published() for info in sent), "the broker took them all"

    gateway.proc.send_signal(signal.SIGSTOP)
    try:
        flood(held + 500)  # acknowledged by the broker: more than it keeps for the gateway
        watcher.clear()
        controller.kill()  # SIGKILL: the will goes to both of the gateway's connections
        watcher.wait_for(STATUS, "offline")
        flood(200)  # and more behind it: the will is not the last message the broker drops
    finally:
        gateway.proc.send_signal(signal.SIGCONT)
    idle = watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle"))
    assert payload(idle)["idle_reason"] == "controller is offline"
    # the dead controller's setpoints still queued on the command connection came after its
    # `offline`: refused, never applied. A marker behind the backlog says when it has passed;
    # while the backlog's refusals use up the answer budget a refused marker may go unanswered,
    # so it is sent again until one is answered (an accepted one always is)
    flooder.subscribe(f"{BASE}/reply")
    answered = None
    for n in range(60):
        flooder.publish(f"{BASE}/set/cmd", json.dumps({"id": f"marker-{n}", "cmd": "vread"}))
        try:
            answered = flooder.wait_for(
                f"{BASE}/reply", where=json_where(id=f"marker-{n}"), timeout=1.0
            )
            break
        except AssertionError:
            continue
    assert answered is not None, "no marker answered in 60 s"
    with watcher.cond:
        after = watcher.messages[watcher.messages.index(idle) + 1 :]
    applied = [payload(m) for m in after if m.topic == f"{BASE}/setpoint"]
    assert all(sp.get("mode") == "safe_idle" or not sp["written"] for sp in applied), applied
