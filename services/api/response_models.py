"""The JSON answers of the api's endpoints, as pydantic models (the OpenAPI schema at /docs).

The fields come in the order the answers always had. A value the api passes on as a service
published it (a version, a state's JSON) is ``Any``: the api does not vouch for its type.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["pass", "fail"]


class ResponseModel(BaseModel):
    # every key is declared: a key the code adds without its model fails the golden test
    model_config = ConfigDict(extra="forbid")


class Live(ResponseModel):
    status: Literal["pass"]


class MqttCheck(ResponseModel):
    connected: bool


class ReadyChecks(ResponseModel):
    mqtt: MqttCheck


class Ready(ResponseModel):
    status: Verdict = Field(description="fail (503) while the broker is unreachable")
    checks: ReadyChecks


class ServiceHealth(ResponseModel):
    up: bool = Field(description="online, heartbeats fresh and no problem reported")
    status: str | None = Field(description="online / offline, as the service or its will said")
    reason: str | None = Field(description="why it is not up, in words")
    problem: str | None = Field(description="the service's own word that it cannot do its job")
    version: Any = Field(description="from its heartbeat")
    uptime_s: Any = Field(description="from its heartbeat")
    last_activity: Any = Field(description="from its heartbeat")
    last_error: Any = Field(description="from its heartbeat")
    last_heartbeat: str | None = Field(description="when the api received it, ISO 8601")
    heartbeat_age_s: float | None
    heartbeat_interval_s: Any = Field(description="from its heartbeat")


class Health(ResponseModel):
    status: Verdict = Field(description="pass (200) when every service is up, else fail (503)")
    version: str = Field(description="of the api")
    topic_api: int = Field(description="version of the MQTT topic API")
    mqtt_connected: bool
    services: dict[str, ServiceHealth]


class Retained(ResponseModel):
    """A service's latest retained JSON object, as received."""

    value: dict[str, Any]
    received: str = Field(description="when the api received it, ISO 8601")
    age_s: float


class Vehicles(ResponseModel):
    vehicles: dict[str, Retained] = Field(description="vehicle name -> its latest state")


class BicUnit(ResponseModel):
    info: Retained | None
    state: Retained | None
    fault: Retained | None
    write_counters: Retained | None = Field(description="the gateway's `wear` topic")


class BicUnits(ResponseModel):
    units: dict[str, BicUnit] = Field(description="unit -> its topics, in unit order")


class Decision(ResponseModel):
    time: Any
    setpoint_w: Any
    reason: Any


class Controller(ResponseModel):
    controller: Retained | None = Field(description="its latest state")
    decisions: list[Decision] = Field(description="its last distinct decisions, newest first")


class Configs(ResponseModel):
    services: dict[str, dict[str, Any]] = Field(
        description="service -> its effective configuration (as published), secrets redacted"
    )


class Problem(ResponseModel):
    detail: str


class FieldProblem(ResponseModel):
    loc: list[str]
    field: str = Field(description="dotted path of the key in the body (`body`: all of it)")
    msg: str
    type: str


class PatchInvalid(ResponseModel):
    detail: list[FieldProblem]


class PatchApplied(ResponseModel):
    applied: dict[str, Any] = Field(description="what changed, shaped like the patch")
    config: dict[str, Any] = Field(description="the whole runtime configuration now")


class PatchRefused(ResponseModel):
    detail: str
    refused: dict[str, Any] = Field(description="key -> the controller's error")
    applied: dict[str, Any] = Field(description="what the controller confirmed")
    unconfirmed: list[str]


class PatchUnconfirmed(ResponseModel):
    detail: str
    unconfirmed: list[str] = Field(description="keys the controller did not confirm in time")
    applied: dict[str, Any] = Field(description="what the controller confirmed")
