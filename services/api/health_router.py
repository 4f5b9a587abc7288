"""`/livez`, `/readyz` and `/health`: is the api up, is it connected, is every service up."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.api.context import Context
from services.api.response_models import Health, Live, MqttCheck, Ready, ReadyChecks


def health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/livez", summary="The API process answers (checks nothing else)")
    def livez() -> Live:
        return Live(status="pass")

    # JSONResponse: these two always were rendered by Starlette (and still are, byte for byte)
    @router.get(
        "/readyz",
        response_class=JSONResponse,
        summary="503 while the broker is unreachable",
        responses={503: {"model": Ready, "description": "Not connected to the broker"}},
    )
    def readyz(ctx: Context, response: Response) -> Ready:
        connected = ctx.connected()
        response.status_code = 200 if connected else 503
        return Ready(
            status="pass" if connected else "fail",
            checks=ReadyChecks(mqtt=MqttCheck(connected=connected)),
        )

    @router.get(
        "/health",
        response_class=JSONResponse,
        summary="Every service: up or down, version, last heartbeat",
        responses={503: {"model": Health, "description": "A service is down or the broker is"}},
    )
    def health(ctx: Context, response: Response) -> Health:
        body = Health.model_validate(ctx.health())
        response.status_code = 200 if body.status == "pass" else 503
        return body

    return router
