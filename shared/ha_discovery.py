"""Home Assistant MQTT discovery, device-based (`homeassistant/device/<id>/config`).

Builders return plain dicts; `check_device_config` rejects payloads HA would
refuse or mis-file (missing keys, wrong class/unit pairs), so a service fails
in its tests, not in the user's HA log. `DiscoveryPublisher` publishes every
registered device retained on each connect and again, after a short random
delay, whenever `homeassistant/status` says `online` (HA restarted).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel, ConfigDict, field_validator

from shared import __version__
from shared.contract.status import OFFLINE, ONLINE, parse_status
from shared.contract.topics import HA_PREFIX, ha_device_topic, ha_status_topic
from shared.mqtt_client import MqttClient
from shared.payload_limits import SMALL_LIMITS
from shared.settings import check_topic

PREFIX = HA_PREFIX
ORIGIN = {
    "name": "canbridge",
    "sw_version": __version__,
    "support_url": "https://github.com/canbridge/canbridge",
}
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")

#: device_class -> units HA accepts for it (None: no unit)
SENSOR_UNITS: dict[str, set[str | None]] = {
    "battery": {"%"},
    "power": {"W", "kW"},
    "voltage": {"V", "mV"},
    "current": {"A", "mA"},
    "temperature": {"°C", "°F", "K"},
    "energy": {"Wh", "kWh"},
    "energy_storage": {"Wh", "kWh"},
    "enum": {None},
    "timestamp": {None},
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


class HomeAssistantSettings(BaseModel):
    """The `homeassistant:` key of every service that announces devices (same in all)."""

    model_config = ConfigDict(extra="forbid")

    discovery: bool = True  # false: publish no discovery at all
    prefix: str = PREFIX  # HA's discovery prefix (MQTT integration options)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        return check_topic(v)


def slug(text: str) -> str:
    """`text` with every character HA refuses in ids replaced by '_' (base topics have '/')."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def availability(*entries: tuple[str, str | None]) -> list[dict[str, str]]:
    """[(topic, value_template or None)] -> HA availability list (payloads online/offline)."""
    out = []
    for topic, template in entries:
        item = {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
        if template:
            item["value_template"] = template
        out.append(item)
    return out


def sensor(
    unique_id: str,
    name: str | None,
    state_topic: str,
    *,
    device_class: str | None,
    unit: str | None,
    state_class: str | None = "measurement",
    value_template: str | None = None,
    precision: int | None = None,
    expire_after: int | None = None,
    **extra: object,
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "platform": "sensor",
        "unique_id": unique_id,
        "name": name,
        "state_topic": state_topic,
    }
    if device_class:
        c["device_class"] = device_class
    if unit:
        c["unit_of_measurement"] = unit
    if state_class:
        c["state_class"] = state_class
    if value_template:
        c["value_template"] = value_template
    if precision is not None:
        c["suggested_display_precision"] = precision
    if expire_after:
        c["expire_after"] = expire_after
    c.update(extra)
    return c


def binary_sensor(
    unique_id: str,
    name: str,
    state_topic: str,
    *,
    device_class: str | None,
    value_template: str | None = None,
    **extra: object,
) -> dict[str, Any]:
    c = {
        "platform": "binary_sensor",
        "unique_id": unique_id,
        "name": name,
        "state_topic": state_topic,
        "payload_on": "ON",
        "payload_off": "OFF",
        **extra,
    }
    if device_class:
        c["device_class"] = device_class
    if value_template:
        c["value_template"] = value_template
    return c


def switch(
    unique_id: str, name: str, state_topic: str, command_topic: str, **extra: object
) -> dict[str, Any]:
    return {
        "platform": "switch",
        "unique_id": unique_id,
        "name": name,
        "state_topic": state_topic,
        "command_topic": command_topic,
        "payload_on": "ON",
        "payload_off": "OFF",
        "retain": False,
        **extra,
    }


def number(
    unique_id: str,
    name: str,
    state_topic: str,
    command_topic: str,
    *,
    minimum: float,
    maximum: float,
    step: float,
    unit: str | None,
    device_class: str | None = None,
    **extra: object,
) -> dict[str, Any]:
    c = {
        "platform": "number",
        "unique_id": unique_id,
        "name": name,
        "state_topic": state_topic,
        "command_topic": command_topic,
        "min": minimum,
        "max": maximum,
        "step": step,
        "mode": "box",
        "entity_category": "config",
        "retain": False,
        **extra,
    }
    if unit:
        c["unit_of_measurement"] = unit
    if device_class:
        c["device_class"] = device_class
    return c


def select(
    unique_id: str,
    name: str,
    state_topic: str,
    command_topic: str,
    options: list[str],
    **extra: object,
) -> dict[str, Any]:
    return {
        "platform": "select",
        "unique_id": unique_id,
        "name": name,
        "state_topic": state_topic,
        "command_topic": command_topic,
        "options": options,
        "retain": False,
        **extra,
    }


def device_config(
    device: dict[str, Any],
    components: dict[str, dict[str, Any]],
    avail: list[dict[str, str]],
    mode: str = "all",
) -> dict[str, Any]:
    payload = {
        "device": device,
        "origin": ORIGIN,
        "components": components,
        "availability": avail,
        "availability_mode": mode,
        "qos": 1,
    }
    check_device_config(payload)
    return payload


def check_device_config(payload: dict[str, Any]) -> None:
    """Raise ValueError naming the component and key HA would not accept."""
    for key in ("device", "origin", "components"):
        if key not in payload:
            raise ValueError(f"discovery payload lacks '{key}'")
    if not payload["device"].get("identifiers"):
        raise ValueError("device needs identifiers")
    if not payload["origin"].get("name"):
        raise ValueError("origin needs a name")
    seen: set[str] = set()
    for key, comp in payload["components"].items():
        where = f"component {key!r}"
        if not _ID_RE.match(key):
            raise ValueError(f"{where}: key may only use letters, digits, '_' and '-'")
        if "platform" not in comp:
            raise ValueError(f"{where}: needs 'platform'")
        uid = comp.get("unique_id")
        if not uid or not _ID_RE.match(uid):
            raise ValueError(f"{where}: needs a unique_id of letters, digits, '_' and '-'")
        if uid in seen:
            raise ValueError(f"{where}: unique_id {uid!r} used twice")
        seen.add(uid)
        if "object_id" in comp:
            raise ValueError(f"{where}: object_id is deprecated; use default_entity_id")
        if comp["platform"] in {"switch", "number", "select"} and "command_topic" not in comp:
            raise ValueError(f"{where}: a {comp['platform']} needs a command_topic")
        if comp["platform"] == "sensor":
            _check_sensor(where, comp)


def _check_sensor(where: str, comp: dict[str, Any]) -> None:
    dc = comp.get("device_class")
    unit = comp.get("unit_of_measurement")
    sc = comp.get("state_class")
    if dc in SENSOR_UNITS and unit not in SENSOR_UNITS[dc]:
        raise ValueError(
            f"{where}: device_class {dc} needs unit in "
            f"{sorted(u for u in SENSOR_UNITS[dc] if u) or 'none'}, not {unit!r}"
        )
    if sc is not None and sc not in STATE_CLASSES:
        raise ValueError(f"{where}: unknown state_class {sc!r}")
    if dc == "energy" and sc not in {"total", "total_increasing"}:
        raise ValueError(f"{where}: energy sensors need state_class total or total_increasing")
    if dc == "enum" and (sc or unit):
        raise ValueError(f"{where}: enum sensors take neither state_class nor unit")


class DiscoveryPublisher:
    """Publishes registered devices retained now, on every reconnect, and when HA restarts."""

    def __init__(
        self,
        client: MqttClient,
        enabled: bool = True,
        prefix: str = PREFIX,
        delay_s: tuple[float, float] = (0.5, 3.0),
    ) -> None:
        self._client = client
        self.enabled = enabled
        self.prefix = prefix
        self._delay_s = delay_s
        self._devices: dict[str, Callable[[], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._republish_pending = False
        if enabled:
            client.add_connect_hook(self.publish_all)
            client.subscribe(
                ha_status_topic(prefix), self._on_ha_status, max_bytes=SMALL_LIMITS.max_bytes
            )

    @classmethod
    def from_settings(
        cls, client: MqttClient, settings: HomeAssistantSettings
    ) -> DiscoveryPublisher:
        return cls(client, enabled=settings.discovery, prefix=settings.prefix)

    def register(self, node_id: str, build: Callable[[], dict[str, Any]]) -> None:
        """`build()` returns the device payload; it is called at each publication."""
        if not _ID_RE.match(node_id):
            raise ValueError(f"discovery node id {node_id!r}: letters, digits, '_' and '-'")
        with self._lock:
            self._devices[node_id] = build
        if self.enabled and self._client.connected.is_set():
            self._publish(node_id, build)

    def remove(self, node_id: str) -> None:
        """Drop a device from HA (empty retained payload) and stop republishing it."""
        with self._lock:
            self._devices.pop(node_id, None)
        if self.enabled:
            self._client.publish(ha_device_topic(node_id, self.prefix), b"", qos=1, retain=True)

    def publish_all(self) -> None:
        with self._lock:
            devices = list(self._devices.items())
        for node_id, build in devices:
            self._publish(node_id, build)

    def _publish(self, node_id: str, build: Callable[[], dict[str, Any]]) -> None:
        self._client.publish_json(
            ha_device_topic(node_id, self.prefix), build(), qos=1, retain=True
        )

    def _on_ha_status(self, msg: mqtt.MQTTMessage) -> None:
        if parse_status(msg.payload) != ONLINE or msg.retain:
            return
        with self._lock:
            # one republication per burst: a flood of "online" must not start a timer (and a
            # full discovery publication) per message
            if self._republish_pending:
                return
            self._republish_pending = True
        timer = threading.Timer(random.uniform(*self._delay_s), self._republish)
        timer.daemon = True
        timer.start()

    def _republish(self) -> None:
        with self._lock:
            self._republish_pending = False
        self.publish_all()
