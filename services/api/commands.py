"""Commands to a service over MQTT (`<base>/<service>/set/<path>`) and its answers.

A service answers every command on `<base>/<service>/command_result` with
`{"parameter", "ok", "value", "error"}` (not retained); `send` publishes (QoS 1, not retained)
and waits, bounded, for one answer per command.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt

from shared.mqtt_client import MqttClient, encode_json


class NotSent(RuntimeError):
    """The client could not hand a command to the broker."""


class CommandChannel:
    def __init__(self, client: MqttClient, base: str, service: str) -> None:
        self.client = client
        self.service = service
        self.prefix = f"{base}/{service}/set/"
        self._cond = threading.Condition()
        self._seq = 0
        self._results: deque[tuple[int, dict[str, Any]]] = deque(maxlen=256)
        #: parameters of the batch being sent; only their results are kept (a stream of
        #: results nobody asked for once held 256 x 44 MB here)
        self._waiting: frozenset[str] = frozenset()
        client.subscribe_json(f"{base}/{service}/command_result", self._on_result)

    def _on_result(self, _topic: str, data: Any, _msg) -> None:
        if not isinstance(data, dict):
            return
        with self._cond:
            name = data.get("parameter")
            if not isinstance(name, str) or name not in self._waiting:
                return
            self._seq += 1
            self._results.append((self._seq, data))
            self._cond.notify_all()

    def send(self, commands: dict[str, Any], timeout: float) -> dict[str, dict[str, Any] | None]:
        """Publish every command, then wait up to ``timeout`` s for their results.

        Returns parameter -> result (None: no answer in time). Callers send one batch at a
        time (the API holds a lock), so a result is matched to its command by parameter.
        """
        with self._cond:
            start = self._seq
            self._waiting = frozenset(commands)
        try:
            return self._send(commands, start, timeout)
        finally:
            with self._cond:
                self._waiting = frozenset()
                self._results.clear()

    def _send(
        self, commands: dict[str, Any], start: int, timeout: float
    ) -> dict[str, dict[str, Any] | None]:
        deadline = time.monotonic() + timeout
        for path, value in commands.items():
            info = self.client.publish(self.prefix + path, encode_json(value), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise NotSent(f"{self.prefix}{path}: {mqtt.error_string(info.rc)}")

        def answers() -> dict[str, dict[str, Any]]:
            got: dict[str, dict[str, Any]] = {}
            for seq, result in self._results:
                name = result.get("parameter")
                if seq > start and name in commands and name not in got:
                    got[name] = result
            return got

        with self._cond:
            self._cond.wait_for(
                lambda: len(answers()) == len(commands), max(0.0, deadline - time.monotonic())
            )
            got = answers()
        return {path: got.get(path) for path in commands}
