"""FastAPI application: liveness, readiness and the stack's health from MQTT."""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.api.registry import ServiceRegistry
from services.api.settings import ApiSettings
from shared import TOPIC_API_VERSION, __version__
from shared.runtime import ServiceRuntime


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

    @app.get("/health", summary="Every service: up or down, version, last heartbeat")
    def health() -> JSONResponse:
        with lock:
            services = registry.snapshot(time.monotonic())
        connected = client.connected.is_set()
        all_up = connected and all(s["up"] for s in services.values())
        body = {
            "status": "pass" if all_up else "fail",
            "version": __version__,
            "topic_api": TOPIC_API_VERSION,
            "mqtt_connected": connected,
            "services": services,
        }
        return JSONResponse(body, status_code=200 if all_up else 503)

    @app.get("/config", summary="Effective configuration of every service, secrets redacted")
    def config() -> dict:
        with lock:
            services = dict(configs)
        services["api"] = settings.redacted()
        return {"services": dict(sorted(services.items()))}

    return app
