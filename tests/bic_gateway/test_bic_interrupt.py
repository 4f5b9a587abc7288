"""A pending `offline` interrupts what the bus worker is doing, at its next request, and never
between a write and its read-back; the safe idle comes next.

In-process: the gateway on python-can's virtual bus with a simulated unit, its MQTT side a
recording stand-in (as in test_bic_bus_errors)."""

from __future__ import annotations

import json
import time

import can
import paho.mqtt.client as mqtt
import pytest
from bic_gateway.bic_stack import gateway_on_virtual_bus, unit_on_virtual_bus
from bic_gateway.test_bic_bus_errors import RecordingClient, set_message
from can.interfaces.virtual import VirtualBus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS
from services.bic_gateway.pacing import Pacer
from services.bic_gateway.registers import resolve
from services.bic_gateway.transport import CanTransport, Interrupted

BASE = "canbridge/bic/0"
STATUS = "canbridge/charge-controller/status"
NAMED = ("VOUT_SET", "REVERSE_VOUT_SET", "IOUT_SET", "REVERSE_IOUT_SET", "DIRECTION_CTRL")


def codes(frames: list[can.Message]) -> list[tuple[str, str]]:
    """(register, "read"/"write") of each request frame."""
    by_code = {resolve(n).code: n for n in NAMED}
    out = []
    for f in frames:
        code = int.from_bytes(bytes(f.data[:2]), "little")
        out.append((by_code.get(code, hex(code)), "write" if len(f.data) > 2 else "read"))
    return out


def test_transport_gives_way_before_a_request_but_not_before_a_read_back():
    with unit_on_virtual_bus() as (_unit, _loop, channel):
        bus = VirtualBus(channel=channel, can_filters=[id_filter(BIC_IDS.response_base)])
        transport = CanTransport(bus, Pacer(), timeout_s=0.2, retries=1)
        reason: list[str] = []
        transport.interrupt = lambda: reason[0] if reason else None
        assert transport.read(0, "READ_VOUT").value > 40
        reason.append("safe idle first")
        with pytest.raises(Interrupted, match="READ_VOUT not sent: safe idle first"):
            transport.read(0, "READ_VOUT")
        with pytest.raises(Interrupted):
            transport.write(0, "IOUT_SET", 300)
        assert transport.stats.requests == 1 and transport.stats.writes == 0
        reason.clear()
        transport.write(0, "IOUT_SET", 300)
        reason.append("safe idle first")  # arrives between the write and its read-back
        assert transport.read(0, "IOUT_SET").raw_int == 300  # the read-back still goes
        with pytest.raises(Interrupted):
            transport.read(0, "IOUT_SET")  # but nothing after it
        bus.shutdown()


@pytest.fixture
def gateway(tmp_path):
    client = RecordingClient()
    with gateway_on_virtual_bus(tmp_path, client) as (gw, transport):
        yield gw, transport, client


def status_message(payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=STATUS.encode())
    msg.payload = payload
    return msg


def test_offline_during_a_setpoint_stops_it_and_the_safe_idle_comes_next(gateway):
    gw, transport, client = gateway
    sent: list[can.Message] = []
    offline_after: list[int] = []

    def on_frame(msg: can.Message) -> None:
        sent.append(msg)
        if len(msg.data) > 2 and not offline_after:  # the setpoint's first write is on the bus
            offline_after.append(len(sent))
            gw.on_controller_status(status_message(b"offline"))

    transport.on_frame_sent = on_frame
    mark = client.mark()
    gw.on_set(set_message("power", json.dumps({"value": -600}).encode()))  # flips to discharge
    idle = client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("mode") == "safe_idle")
    assert idle["idle_reason"] == "controller is offline"
    error = client.wait_for(f"{BASE}/error", after=mark)
    assert error["command"] == "power" and error["error"].startswith("not (fully) applied: ")
    assert "not sent: the controller went offline: safe idle first" in error["error"]
    setpoints = [p for t, p in client.messages[mark:] if t == f"{BASE}/setpoint"]
    assert setpoints == [idle], "the interrupted setpoint is not announced as applied"

    requests = codes(sent)
    first = offline_after[0]
    written = requests[first - 1]
    assert written[1] == "write" and requests[first] == (written[0], "read")  # its read-back
    assert not [f for f in sent if bytes(f.data) == b"\x00\x01\x01"], "never to discharge"
    # after the read-back the safe idle writes; nothing of the setpoint's is sent any more
    after = [r for r, kind in requests[first + 1 :] if kind == "write"]
    assert after and set(after) <= set(idle["registers"]) and set(after) == set(idle["written"])


def test_setpoints_are_refused_while_the_controller_is_offline(gateway):
    gw, _transport, client = gateway
    gw.on_controller_status(status_message(b"offline"))
    client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("mode") == "safe_idle")
    mark = client.mark()
    gw.on_set(set_message("current", b"-5"))
    error = client.wait_for(f"{BASE}/error", after=mark)
    assert error == {**error, "command": "current", "value": -5.0}
    assert error["error"].startswith("controller is offline: setpoints are refused")
    gw.on_controller_status(status_message(b"online"))
    gw.on_set(set_message("current", b"-5"))
    applied = client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("current_a") == -5.0)
    assert applied["direction"] == "discharge"


def test_a_full_command_queue_refuses_with_a_reply_and_runs_what_it_took(gateway):
    gw, _transport, client = gateway
    size = gw.settings.max_queued_commands
    mark = client.mark()
    with gw._cond:  # the worker cannot take anything meanwhile (the lock is re-entrant)
        for i in range(size + 2):
            gw.on_set(set_message("cmd", json.dumps({"id": f"q{i}", "cmd": "vread"}).encode()))
    for i in (size, size + 1):
        refused = client.wait_for(f"{BASE}/reply", where=lambda p, i=i: p["id"] == f"q{i}")
        assert refused["ok"] is False and "command queue full (16 waiting" in refused["error"]
    for i in range(size):
        done = client.wait_for(f"{BASE}/reply", where=lambda p, i=i: p["id"] == f"q{i}", after=mark)
        assert done["ok"] is True and done["result"]["register"] == "READ_VOUT"


def test_setpoints_of_the_controllers_previous_run_are_refused_after_its_restart(gateway):
    # a crash and a quick restart: the old run's setpoints (stamped before its `offline`) can
    # still be queued behind the new `online`; they must not be applied, the new run's must
    gw, _transport, client = gateway
    before_crash = time.time() - 0.5
    gw.on_controller_status(status_message(b"offline"))
    client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("mode") == "safe_idle")
    gw.on_controller_status(status_message(b"online"))
    mark = client.mark()
    old = {"value": -600, "ts": round(before_crash, 3)}
    gw.on_set(set_message("power", json.dumps(old).encode()))
    error = client.wait_for(f"{BASE}/error", after=mark)
    assert error["command"] == "power" and "previous run" in error["error"], error
    new = {"value": -600, "ts": round(time.time(), 3)}
    gw.on_set(set_message("power", json.dumps(new).encode()))
    # the new run's setpoint is applied (safe idle never discharges)
    client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("direction") == "discharge")
