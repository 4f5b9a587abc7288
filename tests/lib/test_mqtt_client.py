"""The shared MQTT client wrapper against a real broker."""

from __future__ import annotations

import json
import threading

import pytest
from harness import TIMEOUT
from structlog.testing import capture_logs

from shared.mqtt_client import MqttClient, decode_json, encode_json


def make_client(broker, user="api", service="api", **settings):
    return MqttClient(broker.mqtt_settings(user, **settings), service, broker.base_topic)


@pytest.fixture
def client(broker):
    made = []

    def make(**kw):
        c = make_client(broker, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


def test_online_retained_on_connect_and_offline_on_stop(client, probe):
    c = client()
    c.start()
    assert c.wait_ready(TIMEOUT)
    watcher = probe()
    watcher.subscribe("canbridge/api/status")
    first = watcher.wait_for("canbridge/api/status", "online")
    assert first.retain  # a late subscriber learns the state
    c.stop()
    watcher.wait_for("canbridge/api/status", "offline")


def test_json_handler_gets_parsed_objects_and_bad_payloads_are_dropped(client, probe):
    got = []
    done = threading.Event()

    def handler(topic, data, _msg):
        got.append((topic, data))
        if data == {"n": 2}:
            done.set()

    c = client()
    c.subscribe_json("canbridge/api/set/#", handler)
    c.start()
    assert c.wait_ready(TIMEOUT)
    sender = probe()
    with capture_logs() as logs:
        sender.publish("canbridge/api/set/x", b"{not json")
        sender.publish("canbridge/api/set/x", b"")
        sender.publish("canbridge/api/set/x", b"NaN")
        sender.publish("canbridge/api/set/x", json.dumps({"n": 2}))
        assert done.wait(TIMEOUT)
    assert got == [("canbridge/api/set/x", {"n": 2})]
    reasons = [e["reason"] for e in logs if e["event"] == "bad_payload_dropped"]
    assert len(reasons) == 3
    assert any("not JSON" in r for r in reasons)
    assert any("empty" in r for r in reasons)


def test_handler_exception_does_not_stop_delivery(client, probe):
    seen = []
    second = threading.Event()

    def handler(msg):
        seen.append(msg.payload)
        if msg.payload == b"boom":
            raise RuntimeError("handler bug")
        second.set()

    c = client()
    c.subscribe("canbridge/api/set/x", handler)
    c.start()
    assert c.wait_ready(TIMEOUT)
    sender = probe()
    with capture_logs() as logs:
        sender.publish("canbridge/api/set/x", b"boom")
        sender.publish("canbridge/api/set/x", b"ok")
        assert second.wait(TIMEOUT)
    assert seen == [b"boom", b"ok"]
    assert any(e["event"] == "handler_failed" for e in logs)


def test_publish_json_rejects_what_json_cannot_carry(client):
    c = client()
    with capture_logs() as logs:
        assert c.publish_json("canbridge/api/x", {"v": float("nan")}) is None
        assert c.publish_json("canbridge/api/x", {"v": object()}) is None
    assert [e["event"] for e in logs] == ["json_publish_rejected"] * 2


def test_refused_publish_is_logged(client):
    c = client()
    c.start()
    assert c.wait_ready(TIMEOUT)
    with capture_logs() as logs:
        info = c.publish("wican/84f703406f75/can/tx", b"{}", qos=1)
        info.wait_for_publish(TIMEOUT)
    assert any(
        e["event"] == "mqtt_publish_refused" and e["reason"] == "Not authorized" for e in logs
    )


def test_reconnects_and_resubscribes_after_broker_restart(broker, client, probe):
    received = []
    arrived = threading.Event()

    def handler(msg):
        received.append(msg.payload)
        arrived.set()

    c = client(reconnect_min_s=0.2, reconnect_max_s=1.0)
    c.subscribe("canbridge/api/set/ping", handler)
    c.start()
    assert c.wait_ready(TIMEOUT)
    broker.stop()
    broker.start()
    # a second CONNACK, and the subscription made again from on_connect
    assert c.wait_connects(2, TIMEOUT)
    assert c.subscribed.wait(TIMEOUT)
    probe().publish("canbridge/api/set/ping", b"after-restart")
    assert arrived.wait(TIMEOUT)
    assert received == [b"after-restart"]


def test_wait_ready_means_the_subscriptions_are_acknowledged(client, probe):
    got = threading.Event()
    c = client()
    c.subscribe("canbridge/api/set/now", lambda msg: got.set())
    c.start()
    assert c.wait_ready(TIMEOUT)
    # published right after ready, from another client: must already be routed to us
    probe().publish("canbridge/api/set/now", b"x")
    assert got.wait(TIMEOUT)


def test_json_codec_round_trip_and_reasons():
    assert decode_json(encode_json({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
    with pytest.raises(ValueError, match="not UTF-8"):
        decode_json(b"\xff\xfe")
    with pytest.raises(ValueError, match="Infinity"):
        decode_json(b"[Infinity]")


def test_subscribe_racing_the_connect_is_not_lost(client, probe):
    """A handler registered while the client connects is subscribed exactly once in effect."""
    arrived: set[str] = set()
    all_arrived = threading.Event()

    def on_race(msg) -> None:
        arrived.add(msg.topic)
        if len(arrived) == 50:
            all_arrived.set()

    c = client()
    c.start()
    # register many filters while the CONNACK may arrive at any point among them
    for i in range(50):
        c.subscribe(f"canbridge/api/set/race{i}", on_race)
    assert c.wait_ready(TIMEOUT)
    late = threading.Event()
    c.subscribe("canbridge/api/set/last", lambda msg: late.set())
    assert c.wait_ready(TIMEOUT)  # ready again once that SUBSCRIBE is acknowledged too
    # each of the 50 must be live, not just the last one registered
    sender = probe()
    for i in range(50):
        sender.publish(f"canbridge/api/set/race{i}", b"x")
    assert all_arrived.wait(TIMEOUT), sorted(
        set(f"canbridge/api/set/race{i}" for i in range(50)) - arrived
    )
    sender.publish("canbridge/api/set/last", b"x")
    assert late.wait(TIMEOUT)


def test_oversized_payloads_never_reach_the_handler_and_are_logged_once_per_cause(client, probe):
    got = []
    done = threading.Event()

    def handler(msg):
        got.append(msg.payload)
        if msg.payload == b"last":
            done.set()

    def json_handler(topic, data, _msg):
        got.append(data)

    c = client()
    c.subscribe("canbridge/api/set/raw", handler, max_bytes=100)
    c.subscribe_json("canbridge/api/set/json", json_handler)
    c.start()
    assert c.wait_ready(TIMEOUT)
    sender = probe()
    with capture_logs() as logs:
        for _ in range(20):
            sender.publish("canbridge/api/set/raw", b"x" * 101)
        sender.publish("canbridge/api/set/raw", b"x" * 100)  # at the limit: delivered
        for payload in (b"[" * 1000, b"1" * 400, b"[" * 40 + b"]" * 40, b"9" * 5000):
            sender.publish("canbridge/api/set/json", payload)
        sender.publish("canbridge/api/set/raw", b"last")
        assert done.wait(TIMEOUT)
    assert got == [b"x" * 100, b"last"]  # nothing of the hostile JSON got through either
    dropped = [e for e in logs if e["event"] == "bad_payload_dropped"]
    causes = sorted((e["subscription"], e["cause"]) for e in dropped)
    assert causes == [
        ("canbridge/api/set/json", "bad_number"),
        ("canbridge/api/set/json", "too_deep"),
        ("canbridge/api/set/raw", "too_large"),
    ]  # 20 oversized raw payloads: one line; the second number refusal is counted, not logged
    assert all(len(e["payload"]) < 250 for e in dropped)
    assert c.rejections.counts[("canbridge/api/set/raw", "too_large")] == 20
    assert c.rejections.counts[("canbridge/api/set/json", "bad_number")] == 2
    assert not any(e["event"] == "handler_failed" for e in logs)


def test_an_intake_limit_sleeps_the_network_thread_beyond_its_rate_and_says_so_once(
    broker, monkeypatch
):
    # no broker traffic needed: the pacing runs in front of every handler call
    client = make_client(broker)
    got: list[str] = []
    client.subscribe("canbridge/test/#", lambda msg: got.append(msg.payload.decode()))
    client.limit_intake(100.0, burst=5.0)
    slept: list[float] = []
    monkeypatch.setattr("shared.mqtt_client.time.monotonic", lambda: 50.0)
    monkeypatch.setattr("shared.mqtt_client.time.sleep", slept.append)

    class Msg:
        topic = "canbridge/test/a"
        retain = False

        def __init__(self, n: int) -> None:
            self.payload = str(n).encode()

    with capture_logs() as logs:
        for n in range(8):
            client._on_message(None, None, Msg(n))
    assert got == [str(n) for n in range(8)]  # nothing is dropped by the client: only delayed
    assert slept == pytest.approx([0.01, 0.02, 0.03])  # the burst of 5, then in turn at 100/s
    assert [e["event"] for e in logs].count("mqtt_intake_paced") == 1
