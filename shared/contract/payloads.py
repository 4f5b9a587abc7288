"""Pydantic models of canbridge's JSON payloads, as they are published (topic API v2).

Each model names every top-level field a payload carries (``extra="forbid"``: a field added by
a service without a model change fails the contract tests, which validate what the services
really publish); nested objects whose keys come from device tables (flags, registers, scaling)
are plain mappings. Plain-value topics (``status``, ``availability``, ``<base>/bic/<unit>/voltage``,
``<base>/vehicle/<name>/soc``, ``switch/<name>``) carry text, not JSON, and have no model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _OpenPayload(BaseModel):
    """A payload whose extra keys are data (a vehicle's decoded values)."""

    model_config = ConfigDict(extra="allow", frozen=True)


# --- every service -------------------------------------------------------------------------------


class Heartbeat(_Payload):
    """``<base>/<service>/heartbeat``."""

    service: str
    version: str
    topic_api: int
    time: str
    uptime_s: float
    interval_s: int | float  # an int is published as an int (`5`, not `5.0`)
    last_activity: str | None
    last_error: dict[str, Any] | None  # the latest error-level log event (shared.logging_setup)
    problem: str | None
    rejected_payloads: int


# --- WiCAN ---------------------------------------------------------------------------------------


class WicanStatus(_Payload):
    """``wican/<id>/status`` as the adapter publishes it (bare text is read too)."""

    status: Literal["online", "offline"]


# --- vehicles (wican-soc) ------------------------------------------------------------------------


class CarSoc(_OpenPayload):
    """``car/soc`` (each vehicle's ``soc_topic``): ``soc``, ``time``, the profile's other
    values by name, ``vehicle``."""

    soc: float
    time: str
    vehicle: str

    @model_serializer(mode="wrap")
    def _in_published_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``soc`` and ``time`` first, then the profile's values, then ``vehicle`` (and the
        fields a ``VehicleState`` adds), as wican-soc has always published them; pydantic
        alone would put the values last."""
        data: dict[str, Any] = handler(self)
        values = self.model_extra or {}
        first = [name for name in ("soc", "time") if name in data]
        order = first + [name for name in data if name in values]
        order += [name for name in data if name not in order]
        return {name: data[name] for name in order}


class VehicleState(CarSoc):
    """``<base>/vehicle/<name>/state``: the ``car/soc`` JSON plus where it came from."""

    device_id: str
    profile: str
    units: dict[str, str]


# --- BIC-2200 / NPB units (bic-gateway) ----------------------------------------------------------


class UnitSetpoints(_Payload):
    vout_set: float | None
    iout_set: float | None
    reverse_vout_set: float | None
    reverse_iout_set: float | None


class UnitState(_Payload):
    """``<base>/bic/<unit>/state``; powers in W, + charging (``ac_power`` from
    ``efficiency.ac_from_dc``)."""

    time: str
    voltage: float | None
    current: float | None
    dc_power: float | None
    ac_power: float | None
    ac_voltage: float | None
    temperature: float | None
    fan1: float | None
    fan2: float | None
    direction: Literal["charge", "discharge"] | None
    operation: Literal["off", "on"] | None
    setpoints: UnitSetpoints
    flags: dict[str, bool]
    charge_status: dict[str, Any] | None
    problems: list[str]
    controllable: bool
    control_problems: list[str]


class UnitInfo(_Payload):
    """``<base>/bic/<unit>/info``: identity, ranges and configuration flags."""

    address: int
    manufacturer: str | None
    family: Literal["BIC-2200", "NPB"]
    bidirectional: bool
    model: str
    # numbers as the device tables hold them (48, 45.0; NPB: 18): int | float keeps an int an
    # int when the gateway builds the payload from this model (float alone would publish 48.0)
    nominal_voltage: int
    rated_current_a: int | float
    firmware: list[Any]
    location: str | None
    date: str | None
    serial: str | None
    scaling: dict[str, str]
    scaling_warnings: list[str]
    fans_supported: bool
    ac_voltage_supported: bool
    ranges: dict[str, list[int | float]]  # [minimum, maximum] as the tables hold them
    system_config: dict[str, Any] | None
    battery_mode: bool | None = None  # BIC-2200 only
    curve_config: dict[str, Any] | None = None  # NPB only
    controllable: bool
    control_problems: list[str]
    eep_off_active: bool
    eep_off_supported: bool | None


class FaultFlag(_Payload):
    active: bool
    count: int
    severity: str
    description: str


class UnitFault(_Payload):
    """``<base>/bic/<unit>/fault``: every fault flag with how often it became active."""

    time: str
    raw: int | None
    flags: dict[str, FaultFlag]


class UnitSetpoint(_Payload):
    """``<base>/bic/<unit>/setpoint``: what became of the last setpoint (the plan's fields
    only when there is one)."""

    time: str
    source: str  # the command (``power``, ``current``, ...), ``watchdog`` or ``held``
    written: list[str]
    skipped: list[str] = []
    deferred: list[str]
    requested: dict[str, Any] | None = None  # {"value", "unit"} of a setpoint command
    mode: Literal["safe_idle"] | None = None
    idle_reason: str | None = None
    direction: Literal["charge", "discharge", "idle"] | None = None
    current_a: float | None = None
    registers: dict[str, Any] | None = None
    reason: str | None = None
    power_w: float | None = None
    watchdog: Literal["tripped", "armed"]
    watchdog_timeout_s: float


class UnitWear(_Payload):
    """``<base>/bic/<unit>/wear``: write counters and the EEPROM write interval."""

    time: str
    writes: dict[str, int]
    eeprom_writes: dict[str, int]
    eeprom_total: int
    budget: int
    eep_off_active: bool
    eep_off_supported: bool | None
    min_interval_s: float
    next_eeprom_write_in_s: float
    held: dict[str, Any]


class UnitError(_Payload):
    """``<base>/bic/<unit>/error``: a refused command (``command`` None: a count of those not
    answered one by one)."""

    time: str
    command: str | None
    error: str
    value: Any = None


class UnitReply(_Payload):
    """``<base>/bic/<unit>/reply``: the answer to a ``set/cmd`` request."""

    id: Any
    cmd: Any
    time: str
    ok: bool
    result: Any = None
    error: str | None = None


class SetPower(_Payload):
    """``<base>/bic/<unit>/set/power`` (and ``set/current``) as JSON: signed DC W (A), + charge;
    ``ts`` the send time (epoch s) so a late command can be dropped. A bare number is read too."""

    value: float
    ts: float | None = None


class SetCmd(_Payload):
    """``<base>/bic/<unit>/set/cmd``: a CLI request."""

    id: Any = None
    cmd: str
    value: Any = None
    confirm: bool = False


# --- the charge controller -----------------------------------------------------------------------


class ControllerState(_Payload):
    """``<base>/charge-controller/state`` (nested parts as the controller builds them)."""

    time: str
    enabled: bool
    mode: str
    target_w: float
    setpoint_w: float
    grid_w: float | None
    battery_w: float | None
    soc: dict[str, Any] | None
    meter: dict[str, Any]
    limits: dict[str, Any] | None
    last_decision: dict[str, Any]
    ev: dict[str, Any]
    gateway_online: bool | None
    switches: dict[str, Literal["ON", "OFF"]]
    writes: int


class ControllerUnconfigured(_Payload):
    """``<base>/charge-controller/state`` of a controller without a meter: it drives nothing."""

    time: str
    configured: Literal[False]
    reason: str
    docs: str


class CommandResult(_Payload):
    """``<base>/charge-controller/command_result``: the answer to a ``set/<key>``."""

    parameter: str
    ok: bool
    value: Any
    error: str | None
