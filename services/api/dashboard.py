"""The dashboard at `/`, its JSON (`/dashboard/state`) and `/metrics`.

The router reads the api's caches through its ``ApiContext``; the page's other sources are
`/history` (history_router.py) and `/guide` (guide.py). The page itself is
static (static/dashboard.html + .js + .css, charts by the vendored uPlot); it polls the JSON.
Its controls call the existing ``PATCH /config/controller`` with the token the user typed, so a
change from the dashboard takes the same validated path as one over MQTT.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.context import ApiContext, Context
from services.api.dashboard_models import DashboardState
from services.api.dashboard_state import summarize
from services.api.history_recorder import HistoryRecorder
from services.api.live_feed import ADAPTER, AVAILABILITY
from services.api.metrics import registry_for
from shared.heartbeat import iso_now

STATIC = Path(__file__).resolve().parent / "static"


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


def summary(ctx: ApiContext) -> dict[str, Any]:
    """``GET /dashboard/state``'s answer, from the api's caches (dashboard_state.summarize)."""
    now_m, now = time.monotonic(), ctx.wall()
    units = ctx.bic_units()
    availability = {k: v["value"] for k, v in ctx.extras.view(AVAILABILITY, now_m).items()}
    adapters = {k: v["value"] for k, v in ctx.extras.view(ADAPTER, now_m).items()}
    return summarize(
        ctx.health(),
        ctx.controller_state(),
        ctx.recent_decisions(),
        units,
        availability,
        {u: energy_today(ctx.recorder, u, now) for u in units},
        ctx.cache.view("vehicles", now_m),
        adapters,
        ctx.published_configs(),
        iso_now(),
    )


def history_stats(recorder: HistoryRecorder | None) -> dict[str, float] | None:
    if recorder is None:
        return None
    return {"rows_written": recorder.written, "used_bytes": recorder.store.used_bytes()}


def dashboard_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html", headers={"Cache-Control": "no-cache"})

    # JSONResponse: the summary always was rendered by Starlette (and still is, byte for byte)
    @router.get(
        "/dashboard/state",
        response_class=JSONResponse,
        summary="Everything the dashboard's cards show: controller, batteries, cars, setup notes",
    )
    def dashboard_state(ctx: Context) -> DashboardState:
        return DashboardState.model_validate(summary(ctx))

    @router.get(
        "/metrics",
        summary="Prometheus text format: the dashboard's values and every service's health",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    def metrics(ctx: Context) -> Response:
        registry = registry_for(lambda: (summary(ctx), history_stats(ctx.recorder)))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
