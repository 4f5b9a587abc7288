"""A CAN interface that refuses frames (down, or its transmit queue full because nobody
acknowledges): the gateway reports it, turns the unit offline, keeps running, and recovers.

The gateway runs in-process on python-can's virtual bus with the simulator, so the interface
can be made to fail on demand; its MQTT side is a recording stand-in.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import can
import paho.mqtt.client as mqtt
import pytest
from bic_gateway.bic_stack import unit_on_virtual_bus
from can.interfaces.virtual import VirtualBus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS
from services.bic_gateway.gateway import Gateway
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.pacing import Pacer
from services.bic_gateway.settings import BicGatewaySettings
from services.bic_gateway.transport import BUS_ERROR_HINT, BusError, CanTransport, NoResponse

BASE = "canbridge/bic/0"
ENOBUFS = "Failed to transmit: [Errno 105] No buffer space available"


class RefusingBus(VirtualBus):
    """A virtual bus whose send fails like socketcan's when the TX queue is full."""

    refuse = False

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        if self.refuse:
            raise can.CanOperationError(ENOBUFS)
        super().send(msg, timeout)


class RecordingClient:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.cond = threading.Condition()

    def publish_json(self, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> None:
        self.publish(topic, payload, qos, retain)

    def publish(self, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> None:
        with self.cond:
            self.messages.append((topic, payload))
            self.cond.notify_all()

    def wait_for(self, topic: str, where=lambda _p: True, after: int = 0) -> Any:
        def found():
            return next(
                (p for t, p in self.messages[after:] if t == topic and where(p)),
                None,
            )

        with self.cond:
            assert self.cond.wait_for(lambda: found() is not None, 15), (
                f"no {topic}; got {[t for t, _ in self.messages[after:]]}"
            )
            return found()

    def mark(self) -> int:
        with self.cond:
            return len(self.messages)


def set_message(name: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=f"{BASE}/set/{name}".encode())
    msg.payload = payload
    return msg


@pytest.fixture
def gateway(tmp_path):
    settings = BicGatewaySettings(
        units=[0],
        state_file=tmp_path / "state.json",
        timing={"poll_interval_s": 0.2, "slow_poll_interval_s": 1, "response_timeout_s": 0.05},
        watchdog={"timeout_s": 600},
    )
    with unit_on_virtual_bus() as (_unit, _loop, channel):
        gw_bus = RefusingBus(channel=channel, can_filters=[id_filter(BIC_IDS.response_base)])
        client = RecordingClient()
        gw = Gateway(
            settings,
            client,
            CanTransport(gw_bus, Pacer(), timeout_s=0.05, retries=1),
            StateStore(settings.state_file).load(),
            on_problem=lambda reason: client.publish("health/problem", reason or "healthy"),
        )
        gw.start()
        yield gw, gw_bus, client
        gw.stop()  # closes the transport, so also the bus


def test_transport_turns_an_interface_error_into_bus_error_at_once():
    channel = f"bus-errors-{uuid.uuid4().hex}"
    bus = RefusingBus(channel=channel)
    bus.refuse = True
    transport = CanTransport(bus, timeout_s=0.05, retries=2)
    with pytest.raises(BusError) as caught:
        transport.read(0, "READ_VOUT")
    assert isinstance(caught.value, NoResponse)  # callers treat it as "the unit does not answer"
    assert "No buffer space available" in str(caught.value) and BUS_ERROR_HINT in str(caught.value)
    assert transport.stats.bus_errors == 1  # no pointless retries on a refusing interface
    with pytest.raises(BusError):
        transport.write(0, "IOUT_SET", 300)
    bus.shutdown()


def test_refused_frames_are_reported_the_unit_goes_offline_and_comes_back(gateway):
    gw, bus, client = gateway
    client.wait_for(f"{BASE}/availability", where=lambda p: p == "online")
    client.wait_for(f"{BASE}/state")

    bus.refuse = True
    mark = client.mark()
    gw.on_set(set_message("current", b"3"))
    error = client.wait_for(f"{BASE}/error", after=mark)
    assert error["command"] == "current" and error["error"].startswith("not applied: CAN interface")
    assert "No buffer space available" in error["error"] and BUS_ERROR_HINT in error["error"]
    client.wait_for(f"{BASE}/availability", where=lambda p: p == "offline", after=mark)
    problem = client.wait_for("health/problem", where=lambda p: p != "healthy", after=mark)
    assert problem.startswith("CAN interface refused a frame") and BUS_ERROR_HINT in problem

    bus.refuse = False  # the worker kept going: the unit is found again
    mark = client.mark()
    client.wait_for(f"{BASE}/availability", where=lambda p: p == "online", after=mark)
    client.wait_for(f"{BASE}/info", after=mark)
    client.wait_for("health/problem", where=lambda p: p == "healthy", after=mark)
    gw.on_set(set_message("current", json.dumps({"value": 3}).encode()))
    applied = client.wait_for(f"{BASE}/setpoint", where=lambda p: p.get("current_a") == 3.0)
    assert "IOUT_SET" in applied["written"]
