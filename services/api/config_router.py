"""`GET /config` (every service's configuration) and `PATCH /config/controller` (a change)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.api import controller_patch
from services.api.auth import token_dependency
from services.api.context import Context
from services.api.controller_write import answer, apply_controller_patch, field_problem
from services.api.response_models import (
    Configs,
    PatchApplied,
    PatchInvalid,
    PatchRefused,
    PatchUnconfirmed,
    Problem,
)

PATCH_DESCRIPTION = (
    "Merges the body onto the controller's runtime configuration, validates the whole with the "
    "controller's own model, sends the changes over MQTT (`<base>/charge-controller/set/<key>`) "
    "and waits for the controller to confirm them. The controller keeps runtime changes across "
    "restarts (`runtime_state_file`)."
)
PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ControllerConfigPatch"},
                "example": {"mode": "hold", "control": {"target_w": 20}},
            }
        },
    }
}
PATCH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied: `applied` (what changed) and `config` (all of it)"},
    401: {"model": Problem, "description": "Missing or wrong Bearer token"},
    422: {
        "model": PatchInvalid,
        "description": "Invalid: `detail[].field` names each key; nothing was sent",
    },
    502: {
        "model": PatchRefused | Problem,
        "description": "The controller refused a change (`refused`), or published a "
        "configuration this API cannot read",
    },
    503: {
        "model": Problem,
        "description": "No token configured, broker or controller not reachable",
    },
    504: {
        "model": PatchUnconfirmed,
        "description": "The controller did not confirm in time (`unconfirmed`)",
    },
}


def config_router(token: str | None) -> APIRouter:
    """``token``: the Bearer token of the write endpoint (None: it answers 503)."""
    router = APIRouter()

    @router.get("/config", summary="Effective configuration of every service, secrets redacted")
    def config(ctx: Context) -> Configs:
        services = ctx.published_configs()
        services["api"] = ctx.settings.redacted()
        return Configs.model_validate({"services": dict(sorted(services.items()))})

    @router.patch(
        "/config/controller",
        dependencies=[Depends(token_dependency(token))],
        response_model=PatchApplied,
        summary="Change the charge controller's runtime configuration (Bearer token)",
        description=PATCH_DESCRIPTION,
        openapi_extra=PATCH_BODY,
        responses=PATCH_ANSWERS,
    )
    async def patch_controller_config(ctx: Context, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return answer(
                422, PatchInvalid(detail=[field_problem("body", "not JSON", "json_invalid")])
            )
        return await run_in_threadpool(apply_controller_patch, ctx, body)

    return router


def document_patch_body(app: FastAPI) -> None:
    """Add the request body's schema (the controller's own model) to the app's OpenAPI."""
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
