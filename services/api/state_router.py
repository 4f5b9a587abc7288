"""The stack's retained state: `/vehicles`, `/bic`, `/controller` and the `/status` page."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.api.context import Context
from services.api.page import render
from services.api.response_models import BicUnits, Controller, Vehicles


def state_router() -> APIRouter:
    router = APIRouter()

    @router.get("/status", response_class=HTMLResponse, summary="Status page (refreshes itself)")
    def status_page(ctx: Context) -> HTMLResponse:
        now = time.monotonic()
        return HTMLResponse(
            render(
                ctx.health(),
                ctx.cache.view("vehicles", now),
                ctx.bic_units(),
                ctx.controller_state(),
            )
        )

    @router.get("/vehicles", summary="Latest values of every vehicle, with their age")
    def vehicles(ctx: Context) -> Vehicles:
        return Vehicles.model_validate({"vehicles": ctx.cache.view("vehicles", time.monotonic())})

    @router.get(
        "/bic",
        summary="Every BIC-2200 unit: info, state, faults and write counters, with their age",
    )
    def bic(ctx: Context) -> BicUnits:
        return BicUnits.model_validate({"units": ctx.bic_units()})

    @router.get(
        "/controller",
        summary="The charge controller: its state and its last decisions, newest first",
    )
    def controller(ctx: Context) -> Controller:
        decisions = ctx.recent_decisions()
        return Controller.model_validate(
            {"controller": ctx.controller_state(), "decisions": decisions}
        )

    return router
