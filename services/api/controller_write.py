"""`PATCH /config/controller` from request to answer: the checks, the commands, the outcome.

Each step either hands on what the next one needs or raises ``Refused`` with the answer for
the client (status and body); nothing is sent before every check passed.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.responses import JSONResponse

from services.api import controller_patch
from services.api.commands import NotSent
from services.api.context import ApiContext
from services.api.response_models import (
    FieldProblem,
    PatchApplied,
    PatchInvalid,
    PatchRefused,
    PatchUnconfirmed,
    Problem,
    ResponseModel,
)
from services.charge_controller.controller_config import ControllerConfig
from shared.contract.status import ONLINE

NAME = controller_patch.SERVICE
Results = dict[str, dict[str, Any] | None]


class Refused(Exception):
    """The answer to a patch that was not (or not wholly) applied."""

    def __init__(self, status: int, body: ResponseModel) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def answer(status: int, body: ResponseModel) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status)


def apply_controller_patch(ctx: ApiContext, body: object) -> JSONResponse:
    """Validate ``body``, send it to the controller, wait for its confirmation; the answer."""
    try:
        return answer(200, _apply(ctx, body))
    except Refused as refused:
        return answer(refused.status, refused.body)


def _apply(ctx: ApiContext, body: object) -> PatchApplied:
    if not ctx.connected():
        raise Refused(503, Problem(detail="the API is not connected to the broker"))
    with ctx.patch_lock:
        current = _published(ctx)
        plan = _planned(ctx, current, body)
        _need_online(ctx)
        if not plan.commands:
            return PatchApplied(applied={}, config=current.model_dump(mode="json"))
        deadline = time.monotonic() + ctx.settings.command_timeout_s
        results = _send(ctx, plan)
        _need_confirmations(ctx, plan, results)
        _await_config(ctx, plan.config, deadline)
        return PatchApplied(applied=plan.applied(), config=plan.config.model_dump(mode="json"))


def _published(ctx: ApiContext) -> ControllerConfig:
    """The controller's runtime configuration as it last published it."""
    published = ctx.published_config(NAME)
    if published is None:
        detail = f"{NAME} has not published its configuration (is it running?)"
        raise Refused(503, Problem(detail=detail))
    try:
        return controller_patch.runtime_part(published)
    except ValueError as exc:
        detail = f"{NAME} published a configuration this API cannot read: {exc}"
        raise Refused(502, Problem(detail=detail)) from None


def field_problem(field: str, msg: str, kind: str) -> FieldProblem:
    loc = ["body", *field.split(".")] if field != "body" else ["body"]
    return FieldProblem(loc=loc, field=field, msg=msg, type=kind)


def _planned(ctx: ApiContext, current: ControllerConfig, body: object) -> controller_patch.Plan:
    try:
        return controller_patch.plan(current, body)
    except controller_patch.PatchError as exc:
        ctx.log.info("config_patch_rejected", service=NAME, reason=str(exc))
        errors = [field_problem(f, m, "invalid_configuration") for f, m in exc.problems]
        raise Refused(422, PatchInvalid(detail=errors)) from None


def _need_online(ctx: ApiContext) -> None:
    status = ctx.service_status(NAME)
    if status != ONLINE:
        detail = f"{NAME} is not online (status {status!r}); nothing was sent"
        raise Refused(503, Problem(detail=detail))


def _send(ctx: ApiContext, plan: controller_patch.Plan) -> Results:
    try:
        return ctx.controller_commands.send(plan.commands, ctx.settings.command_timeout_s)
    except NotSent as exc:
        raise Refused(503, Problem(detail=f"command not sent: {exc}")) from None


def _need_confirmations(ctx: ApiContext, plan: controller_patch.Plan, results: Results) -> None:
    applied = plan.applied()
    confirmed = {p: applied[p] for p, r in results.items() if r and r.get("ok")}
    refused = {p: r.get("error") for p, r in results.items() if r and not r.get("ok")}
    missing = [p for p, r in results.items() if r is None]
    ctx.log.info(
        "config_patch_sent", service=NAME, confirmed=confirmed, refused=refused, unconfirmed=missing
    )
    if refused:
        listed = "; ".join(f"{p}: {e}" for p, e in refused.items())
        detail = f"{NAME} refused {listed}"
        body = PatchRefused(detail=detail, refused=refused, applied=confirmed, unconfirmed=missing)
        raise Refused(502, body)
    if missing:
        timeout = ctx.settings.command_timeout_s
        detail = f"{NAME} did not confirm {', '.join(missing)} within {timeout:g} s"
        raise Refused(504, PatchUnconfirmed(detail=detail, unconfirmed=missing, applied=confirmed))


def _await_config(ctx: ApiContext, config: ControllerConfig, deadline: float) -> None:
    """Wait (bounded, best effort) for the controller to re-publish its config with the change.

    It does so right after its results: a GET /config right after the answer shows the change."""

    def config_shows_it() -> bool:
        try:
            return controller_patch.runtime_part(ctx.configs.get(NAME)) == config
        except ValueError:
            return False

    with ctx.config_seen:
        ctx.config_seen.wait_for(config_shows_it, max(0.0, deadline - time.monotonic()))
