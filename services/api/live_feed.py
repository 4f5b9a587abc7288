"""The dashboard's own subscriptions: history samples and what the API's state cache lacks.

The state cache (``ApiContext.cache``, fed by app.py) keeps the retained JSON of the controller,
units and vehicles; the dashboard also wants each unit's availability and energy counters and
each WiCAN adapter's online status, kept here in a second ``StateCache`` (``ApiContext.extras``).
Every message that carries a charted value goes to the history recorder too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from services.api.history_recorder import HistoryRecorder
from services.api.state_cache import StateCache
from shared.contract import topics as t
from shared.contract.status import parse_status
from shared.mqtt_client import MqttClient, decode_json

#: kinds of the extras cache
ADAPTER, AVAILABILITY, CHARGED, DISCHARGED = (
    "adapter",
    "bic_availability",
    "energy_charged",
    "energy_discharged",
)


def subscribe_feed(
    client: MqttClient,
    base: str,
    extras: StateCache,
    recorder: HistoryRecorder | None,
    log,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    def level(topic: str, n: int) -> str:
        return topic.split("/")[n]

    def json_to_history(kind: str, key_level: int | None):
        def handle(msg: mqtt.MQTTMessage) -> None:
            if recorder is None or not msg.payload or msg.retain:
                return  # a retained value is old news: it was recorded when it was new
            try:
                data = decode_json(msg.payload)
            except ValueError as exc:
                log.debug("history_sample_unreadable", topic=msg.topic, reason=str(exc))
                return
            key = "charge-controller" if key_level is None else level(msg.topic, key_level)
            recorder.observe(kind, key, data)

        return handle

    def plain(kind: str):
        def handle(msg: mqtt.MQTTMessage) -> None:
            unit = level(msg.topic, -2)
            text = msg.payload.decode("utf-8", "replace").strip()
            if not text:
                extras.clear(kind, unit)
                return
            extras.update(kind, unit, text, clock())
            if kind in (CHARGED, DISCHARGED) and recorder is not None:
                recorder.observe(kind, unit, text)

        return handle

    def adapter(msg: mqtt.MQTTMessage) -> None:
        state = parse_status(msg.payload)
        if state is not None:
            extras.update(ADAPTER, level(msg.topic, 1), state, clock())

    client.subscribe(t.controller_topic(base, "state"), json_to_history("controller", None))
    client.subscribe(t.unit_filter(base, "state"), json_to_history("bic", -2))
    client.subscribe(t.vehicle_state_filter(base), json_to_history("vehicles", -2))
    client.subscribe(t.unit_filter(base, "availability"), plain(AVAILABILITY))
    client.subscribe(t.unit_filter(base, "energy_charged"), plain(CHARGED))
    client.subscribe(t.unit_filter(base, "energy_discharged"), plain(DISCHARGED))
    client.subscribe(t.wican_status_topic("+"), adapter)
