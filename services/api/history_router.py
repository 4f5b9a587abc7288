"""`GET /history` and `GET /history/series`: the recorded series as JSON (OpenAPI documented)."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from services.api.history_recorder import HistoryRecorder
from services.api.response_models import Problem

MAX_POINTS = 10_000
MAX_NAMES = 50


class SeriesPoints(BaseModel):
    points: list[tuple[int, float, float, float]] = Field(
        description="[t (epoch s, bucket start), average, minimum, maximum], oldest first"
    )


class HistoryAnswer(BaseModel):
    start: float = Field(description="epoch seconds, as asked (`from`)")
    end: float = Field(description="epoch seconds, as asked (`to`)")
    step_s: int = Field(description="bucket width of every point: 1, 60, 900 s or a multiple")
    series: dict[str, SeriesPoints]


class SeriesList(BaseModel):
    series: list[str] = Field(
        description="grid_w, battery_w, setpoint_w, battery_soc, bic.<unit>.power_w|voltage|"
        "current|temperature|energy_charged_kwh|energy_discharged_kwh, vehicle.<name>.soc|soh"
    )


def _when(value: float, now: float) -> float:
    """Epoch seconds; zero or negative means relative to now (-3600 = an hour ago)."""
    return now + value if value <= 0 else value


def history_router(
    recorder: Callable[[], HistoryRecorder | None], wall: Callable[[], float] = time.time
) -> APIRouter:
    router = APIRouter(tags=["history"])

    def need() -> HistoryRecorder:
        rec = recorder()
        if rec is None:
            raise HTTPException(503, "history is off or its file could not be opened (see log)")
        return rec

    @router.get(
        "/history/series",
        response_model=SeriesList,
        summary="Names of the recorded series",
        responses={503: {"model": Problem, "description": "History is off"}},
    )
    def series() -> SeriesList:
        return SeriesList(series=need().known_series())

    @router.get(
        "/history",
        response_model=HistoryAnswer,
        summary="Recorded values of one or more series over a time range",
        description="Averages per bucket (with minimum and maximum). The bucket width is the "
        "finest that the retention still holds for `from` and that gives at most `max_points` "
        "points: 1 s for the last day, 1 min for 30 days, 15 min for a year (defaults). "
        "Values not yet written to the file are included.",
        responses={
            422: {"description": "Bad range or series pattern"},
            503: {"model": Problem, "description": "History is off"},
        },
    )
    def history(
        series: str = Query(
            description="comma-separated names or patterns, e.g. `grid_w,battery_w` or "
            "`vehicle.*.soc`",
            max_length=2000,
        ),
        start: float = Query(
            -3600, alias="from", description="epoch s; <= 0: relative to now (-86400: a day)"
        ),
        end: float = Query(0, alias="to", description="epoch s; <= 0: relative to now"),
        max_points: int = Query(2000, ge=10, le=MAX_POINTS),
    ) -> HistoryAnswer:
        rec = need()
        now = wall()
        t0, t1 = _when(start, now), _when(end, now)
        if t1 <= t0:
            raise HTTPException(422, f"`to` ({t1:.0f}) must be after `from` ({t0:.0f})")
        patterns = [p.strip() for p in series.split(",") if p.strip()]
        if not patterns:
            raise HTTPException(422, "`series` names no series")
        known = rec.known_series()
        names: list[str] = []
        for pattern in patterns:
            matched = fnmatch.filter(known, pattern) if "*" in pattern else [pattern]
            names += [n for n in matched if n not in names]
        if len(names) > MAX_NAMES:
            raise HTTPException(422, f"{len(names)} series asked, at most {MAX_NAMES}")
        step, rows = rec.query(names, t0, t1, max_points)
        return HistoryAnswer(
            start=t0,
            end=t1,
            step_s=step,
            series={
                n: SeriesPoints(
                    points=[(r.t, round(r.avg, 3), round(r.min, 3), round(r.max, 3)) for r in rs]
                )
                for n, rs in rows.items()
            },
        )

    return router
