"""Commands to a service over MQTT (`<base>/<service>/set/<path>`) and its answers.

A service answers every command on `<base>/<service>/command_result` with
`{"parameter", "ok", "value", "error"}` (not retained); `send` publishes (QoS 1, not retained)
and waits, bounded, for one answer per command. Each command carries an MQTT v5 Correlation
Data of its own, which the answer echoes: an answer to somebody else's command for the same
parameter (Home Assistant, a script) is never taken for ours.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from shared.contract.topics import service_topic
from shared.mqtt_client import MqttClient, correlation_of, encode_json


class NotSent(RuntimeError):
    """The client could not hand a command to the broker."""


class CommandChannel:
    def __init__(self, client: MqttClient, base: str, service: str) -> None:
        self.client = client
        self.service = service
        self.prefix = service_topic(base, service, "set/")
        self._cond = threading.Condition()
        #: correlation data -> its answer (None until it comes); only the batch being sent
        #: is kept (a stream of answers nobody asked for once held 256 x 44 MB here)
        self._waiting: dict[bytes, dict[str, Any] | None] = {}
        client.subscribe_json(service_topic(base, service, "command_result"), self._on_result)

    def _on_result(self, _topic: str, data: Any, msg) -> None:
        correlation = correlation_of(msg)
        if not isinstance(data, dict) or correlation is None:
            return
        with self._cond:
            if correlation in self._waiting and self._waiting[correlation] is None:
                self._waiting[correlation] = data
                self._cond.notify_all()

    def send(self, commands: dict[str, Any], timeout: float) -> dict[str, dict[str, Any] | None]:
        """Publish every command, then wait up to ``timeout`` s for their answers.

        Returns parameter -> answer (None: no answer in time)."""
        ids = {path: uuid.uuid4().bytes for path in commands}
        with self._cond:
            self._waiting.update(dict.fromkeys(ids.values()))
        try:
            deadline = time.monotonic() + timeout
            for path, value in commands.items():
                info = self.client.publish(
                    self.prefix + path, encode_json(value), qos=1, correlation=ids[path]
                )
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise NotSent(f"{self.prefix}{path}: {mqtt.error_string(info.rc)}")
            with self._cond:
                self._cond.wait_for(
                    lambda: all(self._waiting[i] is not None for i in ids.values()),
                    max(0.0, deadline - time.monotonic()),
                )
                return {path: self._waiting[ids[path]] for path in commands}
        finally:
            with self._cond:
                for i in ids.values():
                    self._waiting.pop(i, None)
