"""FastAPI application: liveness, readiness and the stack's health from MQTT."""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from services.api import controller_patch
from services.api.auth import token_dependency
from services.api.bounded_map import BoundedMap
from services.api.commands import CommandChannel, NotSent
from services.api.dashboard import ApiParts
from services.api.dashboard import install as install_dashboard
from services.api.decisions import DecisionLog
from services.api.page import render
from services.api.registry import MAX_SERVICES, ServiceRegistry
from services.api.settings import ApiSettings
from services.api.state_cache import StateCache
from shared import TOPIC_API_VERSION, __version__
from shared.contract import topics as t
from shared.contract.status import ONLINE
from shared.heartbeat import retained_age_s
from shared.mqtt_client import decode_json
from shared.payload_limits import COMMAND_LIMITS, SMALL_LIMITS, PayloadRejected
from shared.runtime import ServiceRuntime


def _unit_order(unit: str) -> tuple[int, str]:
    # ASCII digits only, and few: the name is a topic level anyone allowed to publish chose
    plain = unit.isascii() and unit.isdigit() and len(unit) <= 6
    return (int(unit), unit) if plain else (10**6, unit)


def create_app(runtime: ServiceRuntime, settings: ApiSettings, token: str | None = None) -> FastAPI:
    registry = ServiceRegistry(settings.stale_after_missed, settings.expected_services)
    lock = threading.Lock()
    base = settings.base_topic
    client = runtime.client
    log = runtime.log

    def level(topic: str, n: int) -> str:
        """The n-th level below <base> (1 = the service name)."""
        return topic[len(base) + 1 :].split("/")[n - 1]

    def service_of(topic: str) -> str:
        return level(topic, 1)

    def on_status(msg) -> None:
        with lock:
            registry.on_status(
                service_of(msg.topic), msg.payload.decode("utf-8", "replace"), time.monotonic()
            )

    def on_heartbeat(topic, data, msg) -> None:
        now = time.monotonic()
        if msg.retain and isinstance(data, dict):  # published before we subscribed: how long?
            remaining = getattr(msg.properties, "MessageExpiryInterval", None)
            now -= retained_age_s(data.get("interval_s"), remaining)
        with lock:
            ok = registry.on_heartbeat(service_of(topic), data, now)
        if not ok:
            problem = PayloadRejected("not_object", "heartbeat is not a JSON object")
            client.note_rejected(t.heartbeat_topic(base, "+"), msg, problem)

    configs: BoundedMap = BoundedMap(MAX_SERVICES)  # service -> its retained config
    config_seen = threading.Condition(lock)

    def on_config(topic, data, msg) -> None:
        if not isinstance(data, dict):  # a configuration is an object; anything else is junk
            problem = PayloadRejected("not_object", "config is not a JSON object")
            client.note_rejected(t.config_topic(base, "+"), msg, problem)
            return
        with lock:
            configs[service_of(topic)] = data
            config_seen.notify_all()

    cache = StateCache()
    decisions = DecisionLog()
    # topic filter -> (kind, which topic level names the entry)
    watched = {
        t.vehicle_state_filter(base): ("vehicles", 2),
        t.unit_filter(base, "state"): ("bic", 2),
        t.unit_filter(base, "fault"): ("bic_faults", 2),
        t.unit_filter(base, "info"): ("bic_info", 2),
        t.unit_filter(base, "wear"): ("bic_wear", 2),
        t.controller_topic(base, "state"): ("controller", 1),
    }

    def cache_handler(kind: str, depth: int):
        def handle(msg) -> None:
            key = level(msg.topic, depth)
            if not msg.payload:
                cache.clear(kind, key)
                return
            try:
                data = decode_json(msg.payload)
                if not isinstance(data, dict):
                    raise PayloadRejected("not_object", "state is not a JSON object")
            except PayloadRejected as exc:
                client.note_rejected(f"state cache {kind}", msg, exc)
                return
            cache.update(kind, key, data, time.monotonic())
            if kind == "controller":
                with lock:
                    decisions.observe(data)

        return handle

    # payload limits (shared.payload_limits): states and configs 64 KiB, heartbeats 16 KiB,
    # status words 1 KiB; a refused payload never reaches the handlers below
    for topic_filter, (kind, depth) in watched.items():
        client.subscribe(topic_filter, cache_handler(kind, depth))
    client.subscribe(t.status_topic(base, "+"), on_status, max_bytes=SMALL_LIMITS.max_bytes)
    client.subscribe_json(t.heartbeat_topic(base, "+"), on_heartbeat, limits=COMMAND_LIMITS)
    client.subscribe_json(t.config_topic(base, "+"), on_config)
    controller_commands = CommandChannel(client, base, controller_patch.SERVICE)
    patch_lock = threading.Lock()  # one write at a time: results are matched by parameter

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        runtime.start()
        yield
        runtime.shutdown()

    app = FastAPI(
        title="canbridge",
        version=__version__,
        lifespan=lifespan,
        description="Health and configuration of the canbridge stack.",
    )

    @app.get("/livez", summary="The API process answers (checks nothing else)")
    def livez() -> dict:
        return {"status": "pass"}

    @app.get("/readyz", summary="503 while the broker is unreachable")
    def readyz() -> JSONResponse:
        connected = client.connected.is_set()
        body = {
            "status": "pass" if connected else "fail",
            "checks": {"mqtt": {"connected": connected}},
        }
        return JSONResponse(body, status_code=200 if connected else 503)

    def health_body() -> dict:
        with lock:
            services = registry.snapshot(time.monotonic())
        connected = client.connected.is_set()
        all_up = connected and all(s["up"] for s in services.values())
        return {
            "status": "pass" if all_up else "fail",
            "version": __version__,
            "topic_api": TOPIC_API_VERSION,
            "mqtt_connected": connected,
            "services": services,
        }

    @app.get("/health", summary="Every service: up or down, version, last heartbeat")
    def health() -> JSONResponse:
        body = health_body()
        return JSONResponse(body, status_code=200 if body["status"] == "pass" else 503)

    @app.get("/status", response_class=HTMLResponse, summary="Status page (refreshes itself)")
    def status_page() -> HTMLResponse:
        now = time.monotonic()
        bic_units = bic()["units"]
        return HTMLResponse(
            render(
                health_body(),
                cache.view("vehicles", now),
                bic_units,
                cache.view("controller", now).get("charge-controller"),
            )
        )

    @app.get("/vehicles", summary="Latest values of every vehicle, with their age")
    def vehicles() -> dict:
        return {"vehicles": cache.view("vehicles", time.monotonic())}

    @app.get(
        "/bic",
        summary="Every BIC-2200 unit: info, state, faults and write counters, with their age",
    )
    def bic() -> dict:
        now = time.monotonic()
        parts = {k: cache.view(k, now) for k in ("bic_info", "bic", "bic_faults", "bic_wear")}
        units = sorted({u for part in parts.values() for u in part}, key=_unit_order)
        return {
            "units": {
                u: {
                    "info": parts["bic_info"].get(u),
                    "state": parts["bic"].get(u),
                    "fault": parts["bic_faults"].get(u),
                    "write_counters": parts["bic_wear"].get(u),
                }
                for u in units
            }
        }

    @app.get(
        "/controller",
        summary="The charge controller: its state and its last decisions, newest first",
    )
    def controller() -> dict:
        with lock:
            recent = decisions.entries()
        return {
            "controller": cache.view("controller", time.monotonic()).get("charge-controller"),
            "decisions": recent,
        }

    @app.get("/config", summary="Effective configuration of every service, secrets redacted")
    def config() -> dict:
        with lock:
            services = dict(configs)
        services["api"] = settings.redacted()
        return {"services": dict(sorted(services.items()))}

    def published_controller_config():
        with lock:
            published = configs.get(controller_patch.SERVICE)
        return None if published is None else controller_patch.runtime_part(published)

    def apply_controller_patch(body: object) -> JSONResponse:
        name = controller_patch.SERVICE
        if not client.connected.is_set():
            return JSONResponse({"detail": "the API is not connected to the broker"}, 503)
        with patch_lock:
            try:
                current = published_controller_config()
            except ValueError as exc:
                return JSONResponse(
                    {"detail": f"{name} published a configuration this API cannot read: {exc}"},
                    502,
                )
            if current is None:
                return JSONResponse(
                    {"detail": f"{name} has not published its configuration (is it running?)"},
                    503,
                )
            try:
                plan = controller_patch.plan(current, body)
            except controller_patch.PatchError as exc:
                errors = [
                    {
                        "loc": ["body", *field.split(".")] if field != "body" else ["body"],
                        "field": field,
                        "msg": msg,
                        "type": "invalid_configuration",
                    }
                    for field, msg in exc.problems
                ]
                log.info("config_patch_rejected", service=name, reason=str(exc))
                return JSONResponse({"detail": errors}, 422)
            with lock:
                status = registry.snapshot(time.monotonic()).get(name, {}).get("status")
            if status != ONLINE:
                return JSONResponse(
                    {"detail": f"{name} is not online (status {status!r}); nothing was sent"},
                    503,
                )
            if not plan.commands:
                return JSONResponse({"applied": {}, "config": current.model_dump(mode="json")})
            deadline = time.monotonic() + settings.command_timeout_s
            try:
                results = controller_commands.send(plan.commands, settings.command_timeout_s)
            except NotSent as exc:
                return JSONResponse({"detail": f"command not sent: {exc}"}, 503)
            applied = plan.applied()
            confirmed = {p: applied[p] for p, r in results.items() if r and r.get("ok")}
            refused = {p: r.get("error") for p, r in results.items() if r and not r.get("ok")}
            missing = [p for p, r in results.items() if r is None]
            log.info(
                "config_patch_sent",
                service=name,
                confirmed=confirmed,
                refused=refused,
                unconfirmed=missing,
            )
            if refused:
                listed = "; ".join(f"{p}: {e}" for p, e in refused.items())
                return JSONResponse(
                    {
                        "detail": f"{name} refused {listed}",
                        "refused": refused,
                        "applied": confirmed,
                        "unconfirmed": missing,
                    },
                    502,
                )
            if missing:
                return JSONResponse(
                    {
                        "detail": f"{name} did not confirm {', '.join(missing)} within "
                        f"{settings.command_timeout_s:g} s",
                        "unconfirmed": missing,
                        "applied": confirmed,
                    },
                    504,
                )

            def config_shows_it() -> bool:
                try:
                    published = configs.get(name)
                    return controller_patch.runtime_part(published) == plan.config
                except ValueError:
                    return False

            # the controller re-publishes its config right after the results: wait for it so
            # that a GET /config right after this answer shows the change (bounded, best effort)
            with config_seen:
                config_seen.wait_for(config_shows_it, max(0.0, deadline - time.monotonic()))
            return JSONResponse({"applied": applied, "config": plan.config.model_dump(mode="json")})

    @app.patch(
        "/config/controller",
        dependencies=[Depends(token_dependency(token))],
        summary="Change the charge controller's runtime configuration (Bearer token)",
        description="Merges the body onto the controller's runtime configuration, validates "
        "the whole with the controller's own model, sends the changes over MQTT "
        "(`<base>/charge-controller/set/<key>`) and waits for the controller to confirm them. "
        "The controller keeps runtime changes across restarts (`runtime_state_file`).",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ControllerConfigPatch"},
                        "example": {"mode": "hold", "control": {"target_w": 20}},
                    }
                },
            }
        },
        responses={
            200: {"description": "Applied: `applied` (what changed) and `config` (all of it)"},
            401: {"description": "Missing or wrong Bearer token"},
            422: {"description": "Invalid: `detail[].field` names each key; nothing was sent"},
            502: {"description": "The controller refused a change (`refused`)"},
            503: {"description": "No token configured, broker or controller not reachable"},
            504: {"description": "The controller did not confirm in time (`unconfirmed`)"},
        },
    )
    async def patch_controller_config(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            error = {"loc": ["body"], "field": "body", "msg": "not JSON", "type": "json_invalid"}
            return JSONResponse({"detail": [error]}, 422)
        return await run_in_threadpool(apply_controller_patch, body)

    base_openapi = app.openapi

    def openapi_with_config_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(controller_patch.patch_schemas())
        cached = app.openapi_schema
        assert cached is not None  # base_openapi() keeps what it built
        return cached

    # replacing the method is FastAPI's documented way to extend the schema
    app.openapi = openapi_with_config_schema  # type: ignore[method-assign]

    def published_configs() -> dict:
        with lock:
            return dict(configs)

    def recent_decisions() -> list:
        with lock:
            return decisions.entries()

    # the dashboard at /, /dashboard/state, /history, /metrics, /guide (dashboard.py)
    install_dashboard(
        app,
        ApiParts(
            client,
            settings,
            cache,
            health_body,
            lambda: bic()["units"],
            published_configs,
            recent_decisions,
            log,
        ),
    )
    return app
