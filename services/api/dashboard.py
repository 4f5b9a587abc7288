"""The dashboard at `/`, its JSON (`/dashboard/state`), `/history`, `/metrics` and `/guide`.

``install`` adds all of it to the app that ``create_app`` built, reading the app's caches through
``ApiParts``; nothing here changes how the API's existing endpoints behave. The page itself is
static (static/dashboard.html + .js + .css, charts by the vendored uPlot); it polls the JSON.
Its controls call the existing ``PATCH /config/controller`` with the token the user typed, so a
change from the dashboard takes the same validated path as one over MQTT.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.dashboard_state import summarize
from services.api.guide import guide_router
from services.api.history_recorder import HistoryRecorder
from services.api.history_router import history_router
from services.api.live_feed import ADAPTER, AVAILABILITY, subscribe_feed
from services.api.metrics import registry_for
from services.api.settings import ApiSettings
from services.api.state_cache import StateCache
from shared.heartbeat import iso_now
from shared.mqtt_client import MqttClient

STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class ApiParts:
    """What the dashboard reads from the app ``create_app`` built."""

    client: MqttClient
    settings: ApiSettings
    cache: StateCache
    health: Callable[[], dict[str, Any]]
    bic_units: Callable[[], dict[str, Any]]
    configs: Callable[[], dict[str, Any]]
    decisions: Callable[[], list[dict[str, Any]]]
    log: Any


def local_midnight(now: float) -> float:
    return (
        datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    )


def energy_today(recorder: HistoryRecorder | None, unit: str, now: float) -> dict[str, Any]:
    """kWh charged and discharged since local midnight, from the recorded counters."""
    out: dict[str, Any] = {"charged": None, "discharged": None}
    if recorder is None:
        return out
    for direction in out:
        name = f"bic.{unit}.energy_{direction}_kwh"
        _step, rows = recorder.query([name], local_midnight(now), now, 2000)
        points = rows.get(name) or []
        if points:
            out[direction] = round(max(0.0, points[-1].max - points[0].min), 4)
    return out


def install(app: FastAPI, parts: ApiParts, wall: Callable[[], float] = time.time) -> None:
    extras = StateCache()
    recorder = HistoryRecorder.open(parts.settings.history)
    subscribe_feed(parts.client, parts.settings.base_topic, extras, recorder, parts.log)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: FastAPI):
        async with inner(the_app) as state:
            if recorder is not None:
                recorder.start()
            try:
                yield state
            finally:
                if recorder is not None:
                    recorder.stop()

    app.router.lifespan_context = lifespan

    def summary() -> dict[str, Any]:
        now_m, now = time.monotonic(), wall()
        units = parts.bic_units()
        availability = {k: v["value"] for k, v in extras.view(AVAILABILITY, now_m).items()}
        adapters = {k: v["value"] for k, v in extras.view(ADAPTER, now_m).items()}
        return summarize(
            parts.health(),
            parts.cache.view("controller", now_m).get("charge-controller"),
            parts.decisions(),
            units,
            availability,
            {u: energy_today(recorder, u, now) for u in units},
            parts.cache.view("vehicles", now_m),
            adapters,
            parts.configs(),
            iso_now(),
        )

    def history_stats() -> dict[str, float] | None:
        if recorder is None:
            return None
        return {"rows_written": recorder.written, "used_bytes": recorder.store.used_bytes()}

    registry = registry_for(lambda: (summary(), history_stats()))

    app.include_router(history_router(lambda: recorder, wall))
    app.include_router(guide_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html", headers={"Cache-Control": "no-cache"})

    @app.get(
        "/dashboard/state",
        tags=["dashboard"],
        summary="Everything the dashboard's cards show: controller, batteries, cars, setup notes",
    )
    def dashboard_state() -> JSONResponse:
        return JSONResponse(summary())

    @app.get(
        "/metrics",
        tags=["dashboard"],
        summary="Prometheus text format: the dashboard's values and every service's health",
        response_class=Response,
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
