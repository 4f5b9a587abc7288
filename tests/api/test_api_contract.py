"""The api's HTTP contract: every answer as it was (golden), its model, its OpenAPI schema.

The golden file was written by the api before its endpoints moved into routers with response
models; the answers must not change with such refactors. Times and ages are replaced by
placeholders (they depend on the clock); ``CANBRIDGE_WRITE_GOLDEN=1`` rewrites the file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pydantic_core
import pytest
from api.api_inprocess import InProcessApi

from services.api.dashboard_models import DashboardState
from services.api.response_models import (
    BicUnits,
    Configs,
    Controller,
    Health,
    Live,
    PatchApplied,
    PatchInvalid,
    PatchRefused,
    PatchUnconfirmed,
    Problem,
    Ready,
    ResponseModel,
    Vehicles,
)
from services.charge_controller.controller_config import ControllerConfig
from shared import __version__

GOLDEN = Path(__file__).with_name("api_responses.json")
AUTH = {"Authorization": "Bearer t0k"}


def renderings(value: Any) -> list[str]:
    """``value`` as the api may write it: Starlette's JSONResponse, or pydantic's JSON."""
    starlette = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return [starlette, pydantic_core.to_json(value).decode()]


def answer(r: httpx.Response, **placeholders: Any) -> dict[str, Any]:
    """Status, headers and the body byte for byte, but for times, ages and placeholders.

    ``placeholders``: name -> a value the body holds (written in either rendering), replaced by
    ``"<name>"``."""
    assert r.headers["content-length"] == str(len(r.content))
    text = r.content.decode()
    for name, value in placeholders.items():
        found = [t for t in renderings(value) if t in text]
        assert found, f"{name} not in the answer"
        text = text.replace(found[0], f'"<{name}>"')
    text = re.sub(r'"(received|last_heartbeat|time)":"[^"]*"', r'"\1":"<time>"', text)
    text = re.sub(r'"(\w*age_s)":[-0-9.eE+]+', r'"\1":"<age>"', text)
    text = re.sub(r"errors\.pydantic\.dev/[0-9.]+/", "errors.pydantic.dev/<version>/", text)
    text = re.sub(r'class="age">\d+ s ago', 'class="age"><age> s ago', text)  # /status
    text = re.sub(r"(_age_seconds\{[^}]*\}) \S+", r"\1 <age>", text)  # /metrics
    return {
        "status": r.status_code,
        "headers": sorted(f"{k}: {v}" for k, v in r.headers.multi_items() if k != "content-length"),
        "body": text,
    }


def stocked() -> InProcessApi:
    """An api that has seen a bit of everything: services, a unit, a car, the controller."""
    api = InProcessApi(expected_services=["bic-gateway"])
    for name in ("api", "charge-controller", "wican-status"):
        api.service_up(name)
    api.deliver("bic-gateway/status", "offline")
    api.deliver("wican-status/config", {"vehicles": []})
    api.deliver("bic-gateway/config", {"units": ["1"], "can": {"channel": "can0"}})
    api.deliver(
        "vehicle/ioniq/state",
        {"soc": 81.5, "soh": 1e-05, "time": "2026-01-01T00:00:00Z", "device_id": "abc", "x": 1e16},
    )
    api.client.deliver("wican/abc/status", {"status": "online"})
    for unit in ("10", "2"):
        api.deliver(f"bic/{unit}/info", {"model": "BIC-2200-24-CAN", "serial": "S" + unit})
    api.deliver(
        "bic/2/state",
        {
            "voltage": 26.5,
            "current": -3,
            "ac_power": 80,
            "temperature": 31.0,
            "direction": "discharge",
            "operation": "on",
            "flags": {"master": True, "hi_temp": True},
            "problems": ["otp", "dc_not_ok"],
        },
    )
    api.deliver(
        "bic/2/fault",
        {"flags": {"otp": {"active": True, "severity": "fault", "count": 2}, "fan": {}}},
    )
    api.deliver("bic/2/wear", {"eeprom_total": 120, "budget": 4000, "eep_off_active": False})
    api.deliver("bic/2/availability", "online")
    api.deliver("bic/2/state", b"", retain=True)  # cleared again
    api.deliver("bic/2/state", {"voltage": 26.4, "ac_power": -120.5, "problems": ["otp"]})
    api.deliver("bic/3/wear", [1, 2])  # not an object: refused
    for setpoint, reason in ((-100, "discharge to zero"), (0, "soc floor")):
        api.deliver(
            "charge-controller/state",
            {
                "time": "2026-01-01T00:00:0Z",
                "mode": "auto",
                "target_w": 0,
                "setpoint_w": setpoint,
                "grid_w": 12.5,
                "battery_w": setpoint,
                "soc": {"pct": 55, "source": "bms"},
                "meter": {"ok": True, "reason": None},
                "limits": {"max_charge_w": 2000, "max_discharge_w": 1800, "reasons": ["x"]},
                "gateway_online": True,
                "last_decision": {"setpoint_w": setpoint, "reason": reason},
            },
        )
    api.deliver("charge-controller/config", {"mode": "auto", "mqtt": {"password": "***"}})
    return api


def unconfigured() -> InProcessApi:
    api = InProcessApi(connected=False)
    api.service_up("charge-controller")
    api.deliver("charge-controller/state", {"configured": False, "reason": "no meter"})
    api.deliver("nonsense/heartbeat", [1])
    return api


def controller_config(**changes: Any) -> dict[str, Any]:
    return {**ControllerConfig().model_dump(mode="json"), **changes, "mqtt": {"password": "***"}}


def patching(
    api: InProcessApi, body: Any, online: bool = True, config: Any = None, **kw: Any
) -> httpx.Response:
    if online:
        api.service_up("charge-controller")
    if config is not None:
        api.deliver("charge-controller/config", config)
    send = kw.pop("send", None)
    if send is not None:
        api.client.on_publish = send
    kw.setdefault("headers", AUTH)
    if isinstance(body, bytes):
        return api.http.patch("/config/controller", content=body, **kw)
    return api.http.patch("/config/controller", json=body, **kw)


def collect() -> dict[str, Any]:
    out: dict[str, Any] = {}
    api = stocked()
    for path in ("/livez", "/readyz", "/vehicles", "/bic", "/controller"):
        out[f"GET {path}"] = answer(api.http.get(path))
    out["GET /health"] = answer(api.http.get("/health"), version=__version__)
    out["GET /config"] = answer(api.http.get("/config"), settings=api.settings.redacted())
    out["GET /dashboard/state"] = answer(api.http.get("/dashboard/state"), version=__version__)
    out["GET /history/series (history off)"] = answer(api.http.get("/history/series"))
    out["GET /status"] = answer(api.http.get("/status"))
    out["GET /metrics"] = answer(api.http.get("/metrics"))
    bare = unconfigured()
    for path in ("/readyz", "/health", "/controller", "/dashboard/state", "/status", "/metrics"):
        out[f"GET {path} (disconnected, unconfigured)"] = answer(
            bare.http.get(path),
            **({"version": __version__} if path in ("/health", "/dashboard/state") else {}),
        )

    hold = {"mode": "hold"}
    cases: dict[str, tuple[InProcessApi, Any, dict[str, Any]]] = {
        "not connected": (InProcessApi(connected=False), hold, {}),
        "no published config": (InProcessApi(), hold, {}),
        "unreadable config": (InProcessApi(), hold, {"config": {"mode": "turbo"}}),
        "invalid patch": (
            InProcessApi(),
            {"mode": "turbo", "control": {"gain": 5}},
            {"config": controller_config()},
        ),
        "not an object": (InProcessApi(), ["mode"], {"config": controller_config()}),
        "not JSON": (InProcessApi(), b"{mode", {"config": controller_config()}),
        "controller offline": (
            InProcessApi(),
            hold,
            {"config": controller_config(), "online": False},
        ),
        "not sent": (
            InProcessApi(),
            hold,
            {"config": controller_config(), "send": lambda _t, _p, _c: 4},
        ),
    }
    for name, (app, body, kw) in cases.items():
        out[f"PATCH {name}"] = answer(patching(app, body, **kw))
    r = patching(InProcessApi(), {}, config=controller_config(mode="hold"))
    held = ControllerConfig(mode="hold").model_dump(mode="json")
    out["PATCH nothing to change"] = answer(r, config=held)

    refusing = InProcessApi()
    r = patching(
        refusing,
        {"mode": "hold", "control": {"gain": 0.5}},
        config=controller_config(),
        send=lambda t, p, c: refusing.client.answer(
            t, p, c, ok=t.endswith("/mode"), error=None if t.endswith("/mode") else "busy"
        ),
    )
    out["PATCH refused"] = answer(r)
    silent = InProcessApi(command_timeout_s=0.05)
    r = patching(
        silent,
        {"mode": "hold", "control": {"gain": 0.5}},
        config=controller_config(),
        send=lambda t, p, c: silent.client.answer(t, p, c, ok=True) if "mode" in t else 0,
    )
    out["PATCH unconfirmed"] = answer(r)

    applying = InProcessApi()

    def confirm(topic: str, payload: bytes, correlation: bytes | None) -> int:
        applying.client.answer(topic, payload, correlation, ok=True)
        applying.deliver("charge-controller/config", controller_config(mode="hold"))
        return 0

    r = patching(applying, hold, config=controller_config(), send=confirm)
    out["PATCH applied"] = answer(r, config=held)
    assert applying.http.get("/config").json()["services"]["charge-controller"]["mode"] == "hold"

    no_token = InProcessApi(token=None)
    out["PATCH without a configured token"] = answer(patching(no_token, hold))
    wrong = patching(InProcessApi(), hold, headers={"Authorization": "Bearer nope"})
    assert wrong.headers["www-authenticate"] == "Bearer"
    out["PATCH wrong token"] = answer(wrong)
    return out


def test_every_answer_is_as_it_was():
    got = collect()
    if os.environ.get("CANBRIDGE_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert list(got) == list(want)
    for name in want:
        assert got[name] == want[name], name


#: the models of the golden answers (as the api wrote them before it had models)
MODELS: dict[str, type[ResponseModel]] = {
    "GET /livez": Live,
    "GET /readyz": Ready,
    "GET /health": Health,
    "GET /vehicles": Vehicles,
    "GET /bic": BicUnits,
    "GET /controller": Controller,
    "GET /config": Configs,
    "GET /dashboard/state": DashboardState,
    "GET /history/series (history off)": Problem,
    "GET /readyz (disconnected, unconfigured)": Ready,
    "GET /health (disconnected, unconfigured)": Health,
    "GET /controller (disconnected, unconfigured)": Controller,
    "GET /dashboard/state (disconnected, unconfigured)": DashboardState,
    "PATCH not connected": Problem,
    "PATCH no published config": Problem,
    "PATCH unreadable config": Problem,
    "PATCH invalid patch": PatchInvalid,
    "PATCH not an object": PatchInvalid,
    "PATCH not JSON": PatchInvalid,
    "PATCH controller offline": Problem,
    "PATCH not sent": Problem,
    "PATCH nothing to change": PatchApplied,
    "PATCH refused": PatchRefused,
    "PATCH unconfirmed": PatchUnconfirmed,
    "PATCH applied": PatchApplied,
    "PATCH without a configured token": Problem,
    "PATCH wrong token": Problem,
}
PLACEHOLDERS = {'"<age>"': "0.5", '"<settings>"': "{}", '"<config>"': "{}"}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_golden_answers_fit_their_models(name):
    text = json.loads(GOLDEN.read_text())[name]["body"]
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    model = MODELS[name].model_validate_json(text)
    # and the model gives back the same keys, in the same order, with the same values and types
    assert json.dumps(json.loads(model.model_dump_json())) == json.dumps(json.loads(text))


def test_every_golden_json_answer_has_a_model():
    golden = json.loads(GOLDEN.read_text())
    json_answers = {
        n for n, a in golden.items() if "content-type: application/json" in a["headers"]
    }
    assert set(MODELS) == json_answers


JSON_ENDPOINTS = {
    ("get", "/livez"),
    ("get", "/readyz"),
    ("get", "/health"),
    ("get", "/vehicles"),
    ("get", "/bic"),
    ("get", "/controller"),
    ("get", "/config"),
    ("patch", "/config/controller"),
    ("get", "/history/series"),
    ("get", "/history"),
    ("get", "/dashboard/state"),
}


def resolved(schema: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
    """The component schemas a response schema names (a $ref or a union of them)."""
    refs = [schema] if "$ref" in schema else schema.get("anyOf", [])
    components = document["components"]["schemas"]
    return [components[r["$ref"].rsplit("/", 1)[1]] for r in refs]


def test_openapi_documents_every_json_answer():
    document = InProcessApi().http.get("/openapi.json").json()
    documented = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                content = response.get("content", {})
                if "application/json" not in content:
                    assert code != "200" or (method, path) not in JSON_ENDPOINTS, (method, path)
                    continue
                models = resolved(content["application/json"]["schema"], document)
                assert models, (method, path, code)  # not an empty or inline schema
                for model in models:
                    assert model["properties"], (method, path, code)
                if code == "200":
                    documented.add((method, path))
    assert documented == JSON_ENDPOINTS
