"""What the api's routers share: its MQTT client, settings and what it learnt from the broker.

``create_app`` builds one ``ApiContext``, feeds it from its subscriptions and keeps it in
``app.state``; an endpoint asks for it with the ``Context`` dependency. ``lock`` guards the
registry, the published configs and the decision log (the MQTT thread writes them, the
endpoints read them); the state caches have locks of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from services.api import controller_patch
from services.api.bounded_map import BoundedMap
from services.api.commands import CommandChannel
from services.api.decisions import DecisionLog
from services.api.history_recorder import HistoryRecorder
from services.api.registry import MAX_SERVICES, ServiceRegistry
from services.api.settings import ApiSettings
from services.api.state_cache import StateCache
from shared import TOPIC_API_VERSION, __version__
from shared.mqtt_client import MqttClient

#: the BIC unit's topics the state cache keeps (kind), by the key of ``/bic``'s answer
BIC_PARTS = {
    "info": "bic_info",
    "state": "bic",
    "fault": "bic_faults",
    "write_counters": "bic_wear",
}


def unit_order(unit: str) -> tuple[int, str]:
    # ASCII digits only, and few: the name is a topic level anyone allowed to publish chose
    plain = unit.isascii() and unit.isdigit() and len(unit) <= 6
    return (int(unit), unit) if plain else (10**6, unit)


@dataclass
class ApiContext:
    client: MqttClient
    settings: ApiSettings
    log: Any
    registry: ServiceRegistry
    controller_commands: CommandChannel
    #: the dashboard's history; None when it is off or its file could not be opened
    recorder: HistoryRecorder | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: service -> its retained config
    configs: BoundedMap = field(default_factory=lambda: BoundedMap(MAX_SERVICES))
    #: notified (under ``lock``) whenever a config arrives
    config_seen: threading.Condition = field(init=False)
    #: retained state of vehicles, BIC units and the controller
    cache: StateCache = field(default_factory=StateCache)
    #: what the dashboard reads besides ``cache`` (live_feed.py)
    extras: StateCache = field(default_factory=StateCache)
    decisions: DecisionLog = field(default_factory=DecisionLog)
    #: one controller write at a time: results are matched by parameter
    patch_lock: threading.Lock = field(default_factory=threading.Lock)
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.config_seen = threading.Condition(self.lock)

    @classmethod
    def create(cls, client: MqttClient, settings: ApiSettings, log: Any) -> ApiContext:
        return cls(
            client=client,
            settings=settings,
            log=log,
            registry=ServiceRegistry(settings.stale_after_missed, settings.expected_services),
            controller_commands=CommandChannel(
                client, settings.base_topic, controller_patch.SERVICE
            ),
            recorder=HistoryRecorder.open(settings.history),
        )

    def connected(self) -> bool:
        return self.client.connected.is_set()

    def health(self) -> dict[str, Any]:
        """``GET /health``'s answer: every service and the broker connection."""
        with self.lock:
            services = self.registry.snapshot(time.monotonic())
        connected = self.connected()
        all_up = connected and all(s["up"] for s in services.values())
        return {
            "status": "pass" if all_up else "fail",
            "version": __version__,
            "topic_api": TOPIC_API_VERSION,
            "mqtt_connected": connected,
            "services": services,
        }

    def service_status(self, name: str) -> Any:
        with self.lock:
            return self.registry.snapshot(time.monotonic()).get(name, {}).get("status")

    def bic_units(self) -> dict[str, dict[str, Any]]:
        """Unit -> its info, state, fault and write counters (None: not seen), in unit order."""
        now = time.monotonic()
        parts = {key: self.cache.view(kind, now) for key, kind in BIC_PARTS.items()}
        units = sorted({u for part in parts.values() for u in part}, key=unit_order)
        return {u: {key: part.get(u) for key, part in parts.items()} for u in units}

    def controller_state(self) -> dict[str, Any] | None:
        return self.cache.view("controller", time.monotonic()).get("charge-controller")

    def published_configs(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.configs)

    def published_config(self, service: str) -> Any:
        with self.lock:
            return self.configs.get(service)

    def recent_decisions(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.decisions.entries()


def api_context(request: Request) -> ApiContext:
    ctx = request.app.state.api
    assert isinstance(ctx, ApiContext)  # create_app put it there
    return ctx


#: an endpoint's parameter ``ctx: Context`` receives the app's ApiContext
Context = Annotated[ApiContext, Depends(api_context)]
