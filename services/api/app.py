"""FastAPI application: the api's subscriptions, its routers and the ApiContext they share.

``create_app`` builds the ``ApiContext`` (context.py), subscribes it to the stack's status,
heartbeat, config and state topics (below) and to the dashboard's feed (live_feed.py), keeps it
in ``app.state`` and includes the routers: health_router (``/livez``, ``/readyz``,
``/health``), state_router (``/status``, ``/vehicles``, ``/bic``, ``/controller``),
config_router (``/config``, ``PATCH /config/controller``), history_router, guide and dashboard
(``/``, ``/dashboard/state``, ``/metrics``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.api.config_router import config_router, document_patch_body
from services.api.context import ApiContext
from services.api.dashboard import STATIC, dashboard_router
from services.api.guide import guide_router
from services.api.health_router import health_router
from services.api.history_router import history_router
from services.api.live_feed import subscribe_feed
from services.api.settings import ApiSettings
from services.api.state_router import state_router
from shared import __version__
from shared.contract import topics as t
from shared.heartbeat import retained_age_s
from shared.mqtt_client import decode_json
from shared.payload_limits import COMMAND_LIMITS, SMALL_LIMITS, PayloadRejected
from shared.runtime import ServiceRuntime


def level(base: str, topic: str, n: int) -> str:
    """The n-th level below <base> (1 = the service name)."""
    return topic[len(base) + 1 :].split("/")[n - 1]


def on_status(ctx: ApiContext, msg: mqtt.MQTTMessage) -> None:
    service = level(ctx.settings.base_topic, msg.topic, 1)
    with ctx.lock:
        ctx.registry.on_status(service, msg.payload.decode("utf-8", "replace"), time.monotonic())


def on_heartbeat(ctx: ApiContext, topic: str, data: Any, msg: mqtt.MQTTMessage) -> None:
    base = ctx.settings.base_topic
    now = time.monotonic()
    if msg.retain and isinstance(data, dict):  # published before we subscribed: how long?
        remaining = getattr(msg.properties, "MessageExpiryInterval", None)
        now -= retained_age_s(data.get("interval_s"), remaining)
    with ctx.lock:
        ok = ctx.registry.on_heartbeat(level(base, topic, 1), data, now)
    if not ok:
        problem = PayloadRejected("not_object", "heartbeat is not a JSON object")
        ctx.client.note_rejected(t.heartbeat_topic(base, "+"), msg, problem)


def on_config(ctx: ApiContext, topic: str, data: Any, msg: mqtt.MQTTMessage) -> None:
    base = ctx.settings.base_topic
    if not isinstance(data, dict):  # a configuration is an object; anything else is junk
        problem = PayloadRejected("not_object", "config is not a JSON object")
        ctx.client.note_rejected(t.config_topic(base, "+"), msg, problem)
        return
    with ctx.lock:
        ctx.configs[level(base, topic, 1)] = data
        ctx.config_seen.notify_all()


def on_state(ctx: ApiContext, kind: str, depth: int, msg: mqtt.MQTTMessage) -> None:
    key = level(ctx.settings.base_topic, msg.topic, depth)
    if not msg.payload:
        ctx.cache.clear(kind, key)
        return
    try:
        data = decode_json(msg.payload)
        if not isinstance(data, dict):
            raise PayloadRejected("not_object", "state is not a JSON object")
    except PayloadRejected as exc:
        ctx.client.note_rejected(f"state cache {kind}", msg, exc)
        return
    ctx.cache.update(kind, key, data, time.monotonic())
    if kind == "controller":
        with ctx.lock:
            ctx.decisions.observe(data)


def subscribe_inputs(ctx: ApiContext) -> None:
    """The stack's retained state, statuses, heartbeats and configs, into ``ctx``."""
    base = ctx.settings.base_topic
    client = ctx.client
    # topic filter -> (kind, which topic level names the entry)
    watched = {
        t.vehicle_state_filter(base): ("vehicles", 2),
        t.unit_filter(base, "state"): ("bic", 2),
        t.unit_filter(base, "fault"): ("bic_faults", 2),
        t.unit_filter(base, "info"): ("bic_info", 2),
        t.unit_filter(base, "wear"): ("bic_wear", 2),
        t.controller_topic(base, "state"): ("controller", 1),
    }
    # payload limits (shared.payload_limits): states and configs 64 KiB, heartbeats 16 KiB,
    # status words 1 KiB; a refused payload never reaches the handlers above
    for topic_filter, (kind, depth) in watched.items():
        client.subscribe(topic_filter, partial(on_state, ctx, kind, depth))
    client.subscribe(
        t.status_topic(base, "+"), partial(on_status, ctx), max_bytes=SMALL_LIMITS.max_bytes
    )
    client.subscribe_json(
        t.heartbeat_topic(base, "+"), partial(on_heartbeat, ctx), limits=COMMAND_LIMITS
    )
    client.subscribe_json(t.config_topic(base, "+"), partial(on_config, ctx))


def create_app(runtime: ServiceRuntime, settings: ApiSettings, token: str | None = None) -> FastAPI:
    ctx = ApiContext.create(runtime.client, settings, runtime.log)
    subscribe_inputs(ctx)
    subscribe_feed(ctx.client, settings.base_topic, ctx.extras, ctx.recorder, ctx.log)
    recorder = ctx.recorder

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        if recorder is not None:
            recorder.start()
        try:
            yield
        finally:
            if recorder is not None:
                recorder.stop()
        runtime.shutdown()

    app = FastAPI(
        title="canbridge",
        version=__version__,
        lifespan=lifespan,
        description="Health and configuration of the canbridge stack.",
    )
    app.state.api = ctx
    app.include_router(health_router())
    app.include_router(state_router())
    app.include_router(config_router(token))
    app.include_router(history_router(lambda: recorder, ctx.wall))
    app.include_router(guide_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(dashboard_router())
    document_patch_body(app)
    return app
