"""The api in-process, without a broker: a fake MQTT client that delivers messages to its handlers.

``InProcessApi`` builds the real app (``create_app``) on a ``FakeClient`` that records every
subscription; ``deliver`` hands a message to every handler whose filter matches, as paho would.
A command the API publishes (``<base>/<service>/set/<key>``) goes to ``FakeClient.on_publish``,
which a test sets to answer it (``answer``) or to stay silent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.settings import ApiSettings


@dataclass
class FakeClient:
    connected: threading.Event = field(default_factory=threading.Event)
    raw: list[tuple[str, Callable[..., None]]] = field(default_factory=list)
    json: list[tuple[str, Callable[..., None]]] = field(default_factory=list)
    published: list[tuple[str, bytes]] = field(default_factory=list)
    #: called with (topic, payload, correlation) for every publish; returns the publish rc
    on_publish: Callable[[str, bytes, bytes | None], int] = lambda _t, _p, _c: 0
    rejected: list[str] = field(default_factory=list)

    def subscribe(self, topic_filter: str, handler: Callable[..., None], **_kw: Any) -> None:
        self.raw.append((topic_filter, handler))

    def subscribe_json(self, topic_filter: str, handler: Callable[..., None], **_kw: Any) -> None:
        self.json.append((topic_filter, handler))

    def note_rejected(self, key: str, _msg: Any, _exc: Exception) -> None:
        self.rejected.append(key)

    def publish(
        self, topic: str, payload: bytes, correlation: bytes | None = None, **_kw: Any
    ) -> SimpleNamespace:
        self.published.append((topic, payload))
        return SimpleNamespace(rc=self.on_publish(topic, payload, correlation))

    def deliver(
        self, topic: str, payload: Any, retain: bool = False, correlation: bytes | None = None
    ) -> None:
        """`payload`: bytes or str as is, anything else as JSON."""
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
        msg = SimpleNamespace(
            topic=topic,
            payload=payload,
            retain=retain,
            properties=SimpleNamespace(CorrelationData=correlation, MessageExpiryInterval=None),
        )
        for topic_filter, handler in self.raw:
            if mqtt.topic_matches_sub(topic_filter, topic):
                handler(msg)
        for topic_filter, handler in self.json:
            if mqtt.topic_matches_sub(topic_filter, topic):
                handler(topic, json.loads(payload) if payload else None, msg)

    def answer(self, topic: str, payload: bytes, correlation: bytes | None, **result: Any) -> int:
        """Answer a command on its command_result topic, as the service would."""
        service_prefix, _, key = topic.partition("/set/")
        body = {"parameter": key, "value": json.loads(payload), "error": None, **result}
        self.deliver(f"{service_prefix}/command_result", body, correlation=correlation)
        return mqtt.MQTT_ERR_SUCCESS


class InProcessApi:
    def __init__(self, token: str | None = "t0k", connected: bool = True, **settings: Any):
        self.client = FakeClient()
        if connected:
            self.client.connected.set()
        runtime = MagicMock()
        runtime.client = self.client
        # no history file: an in-process app must not write /data/history.sqlite on this machine
        self.settings = ApiSettings(history={"file": None}, **settings)
        self.base = self.settings.base_topic
        self.http = TestClient(create_app(runtime, self.settings, token))

    def deliver(self, topic: str, payload: Any, **kw: Any) -> None:
        self.client.deliver(f"{self.base}/{topic}", payload, **kw)

    def service_up(self, name: str) -> None:
        self.deliver(f"{name}/status", "online")
        self.deliver(f"{name}/heartbeat", {"version": "1.2.3", "uptime_s": 12, "interval_s": 5})
