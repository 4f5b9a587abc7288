"""FastAPI application: liveness, readiness and the stack's health from MQTT."""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from services.api.page import render
from services.api.registry import ServiceRegistry
from services.api.settings import ApiSettings
from services.api.state_cache import StateCache
from shared import TOPIC_API_VERSION, __version__
from shared.mqtt_client import decode_json
from shared.runtime import ServiceRuntime


def _unit_order(unit: str) -> tuple[int, str]:
    return (int(unit), unit) if unit.isdigit() else (10**6, unit)


def create_app(runtime: ServiceRuntime, settings: ApiSettings, token: str | None = None) -> FastAPI:
    registry = ServiceRegistry(settings.stale_after_missed, settings.expected_services)
    lock = threading.Lock()
    base = settings.base_topic
    client = runtime.client
    log = runtime.log

    def service_of(topic: str) -> str:
        return topic[len(base) + 1 :].split("/", 1)[0]

    def on_status(msg) -> None:
        with lock:
            registry.on_status(
                service_of(msg.topic), msg.payload.decode("utf-8", "replace"), time.monotonic()
            )

    def on_heartbeat(topic, data, _msg) -> None:
        with lock:
            ok = registry.on_heartbeat(service_of(topic), data, time.monotonic())
        if not ok:
            log.warning("heartbeat_ignored", topic=topic, reason="not a JSON object")

    configs: dict[str, object] = {}

    def on_config(topic, data, _msg) -> None:
        with lock:
            configs[service_of(topic)] = data

    cache = StateCache()
    # topic filter -> (kind, which topic level names the entry)
    watched = {
        f"{base}/vehicle/+/state": ("vehicles", 2),
        f"{base}/bic/+/state": ("bic", 2),
        f"{base}/bic/+/fault": ("bic_faults", 2),
        f"{base}/bic/+/info": ("bic_info", 2),
        f"{base}/charge-controller/state": ("controller", 1),
    }

    def cache_handler(kind: str, level: int):
        def handle(msg) -> None:
            key = msg.topic[len(base) + 1 :].split("/")[level - 1]
            if not msg.payload:
                cache.clear(kind, key)
                return
            try:
                cache.update(kind, key, decode_json(msg.payload), time.monotonic())
            except ValueError as exc:
                log.warning("state_ignored", topic=msg.topic, reason=str(exc))

        return handle

    for topic_filter, (kind, level) in watched.items():
        client.subscribe(topic_filter, cache_handler(kind, level))
    client.subscribe(f"{base}/+/status", on_status)
    client.subscribe_json(f"{base}/+/heartbeat", on_heartbeat)
    client.subscribe_json(f"{base}/+/config", on_config)

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

    @app.get("/", response_class=HTMLResponse, summary="Status page (refreshes itself)")
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

    @app.get("/bic", summary="Every BIC-2200 unit: info, state and faults, with their age")
    def bic() -> dict:
        now = time.monotonic()
        parts = {k: cache.view(k, now) for k in ("bic_info", "bic", "bic_faults")}
        units = sorted({u for part in parts.values() for u in part}, key=_unit_order)
        return {
            "units": {
                u: {
                    "info": parts["bic_info"].get(u),
                    "state": parts["bic"].get(u),
                    "fault": parts["bic_faults"].get(u),
                }
                for u in units
            }
        }

    @app.get("/controller", summary="The charge controller: mode, target, last decisions")
    def controller() -> dict:
        return {"controller": cache.view("controller", time.monotonic()).get("charge-controller")}

    @app.get("/config", summary="Effective configuration of every service, secrets redacted")
    def config() -> dict:
        with lock:
            services = dict(configs)
        services["api"] = settings.redacted()
        return {"services": dict(sorted(services.items()))}

    return app
