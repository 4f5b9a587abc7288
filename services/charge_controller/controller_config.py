"""The part of the charge controller's configuration that may change at runtime.

``ChargeControllerSettings`` (settings.py) extends this with what needs a restart (meter and
gateway topics, MQTT). Runtime changes arrive as ``<base>/charge-controller/set/<key path>``
commands and are validated here as a whole (``with_change``), so cross-field rules such as
"start power >= stop power" hold after every change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.charge_controller.charge_only import SwitchParams
from services.charge_controller.control_law import ControlParams
from services.charge_controller.ev_guard import EvSettings
from services.charge_controller.protections import BatterySettings, TemperatureSettings
from services.charge_controller.schedules import ScheduleSettings
from services.charge_controller.surplus_switches import SwitchesSettings
from services.charge_controller.winter_mode import WinterSettings
from shared.contract.status import parse_switch
from shared.payload_limits import COMMAND_LIMITS, PayloadRejected, decode_text, parse_json_text

Mode = Literal["auto", "hold", "manual", "winter"]
MODES: tuple[str, ...] = ("auto", "hold", "manual", "winter")

#: keys whose change needs new subscriptions or topics: refused at runtime
RESTART_ONLY = frozenset(
    {
        "battery.soc_topic",
        "battery.soc_json_path",
        "ev.wallbox_topic",
        "ev.json_path",
        "ev.scale",
        "switches",
    }
)


class ControllerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="false: safe idle, switches off")
    mode: Mode = Field(
        "auto",
        description="auto: zero export/import; hold: like auto but never discharge; "
        "manual: fixed manual_setpoint_w; winter: auto plus SoC floor (see winter)",
    )
    manual_setpoint_w: float = Field(
        0.0, ge=-50000, le=50000, description="mode manual: + charge / - discharge (AC W)"
    )
    meter_timeout_s: float = Field(30.0, ge=2, le=3600, description="silence -> safe idle")
    resume_samples: int = Field(3, ge=1, le=100, description="fresh samples before resuming")
    battery_max_age_s: float = Field(
        15.0,
        ge=2,
        le=3600,
        description="no battery reading from the gateway for this long -> no power until one "
        "arrives (gateway or unit silent)",
    )
    control: ControlParams = ControlParams()
    #: how a charge-only unit (NPB, as the gateway's `info` says) is switched on and off
    charge_only: SwitchParams = SwitchParams()
    battery: BatterySettings = BatterySettings()
    temperature: TemperatureSettings = TemperatureSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    winter: WinterSettings = WinterSettings()
    ev: EvSettings = EvSettings()
    switches: SwitchesSettings = SwitchesSettings()

    def runtime_part(self) -> ControllerConfig:
        return ControllerConfig.model_validate(
            self.model_dump(include=set(ControllerConfig.model_fields))
        )


class CommandError(ValueError):
    """A runtime change that was refused; the message says why.

    ``problems`` lists ``(field path, message)`` pairs, e.g. ``("control.gain", "...")``.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def parse_value(payload: bytes | bytearray) -> Any:
    """JSON value if the payload is JSON, else the stripped text (``auto``, ``ON``).

    Bounded by ``COMMAND_LIMITS`` (size, nesting, number length, finite numbers): a payload
    beyond them is refused with the reason, whatever text it would have been.
    """
    try:
        text = decode_text(payload, COMMAND_LIMITS).strip()
        if not text:
            raise CommandError("empty payload")
        return parse_json_text(text, COMMAND_LIMITS)
    except PayloadRejected as exc:
        if exc.cause != "not_json":
            raise CommandError(str(exc)) from None
    switch = parse_switch(text)  # (a bare 1/0 is JSON, a number: it never gets here)
    return text if switch is None else switch


def _keys(path: str) -> list[str]:
    return [k for k in path.replace("/", ".").split(".") if k]


def _check_runtime(keys: list[str], value: Any) -> None:
    dotted = ".".join(keys)
    if len(keys) == 1 and keys[0] in ("battery", "ev") and isinstance(value, dict):
        # a section sent whole: name the restart-only key inside it
        dotted = next((f"{dotted}.{k}" for k in value if f"{dotted}.{k}" in RESTART_ONLY), dotted)
    if any(dotted == r or dotted.startswith(r + ".") for r in RESTART_ONLY):
        why = "cannot change at runtime (restart with a new config)"
        raise CommandError(f"{dotted} {why}", [(dotted, why)])


def with_change(config: ControllerConfig, path: str, value: Any) -> ControllerConfig:
    """A validated copy of ``config`` with ``path`` (``control/gain`` or ``control.gain``) set.

    A mapping value on a section merges into it (``set/control`` ``{"gain": 0.8}``).
    """
    return with_changes(config, {path: value})


def with_changes(config: ControllerConfig, changes: dict[str, Any]) -> ControllerConfig:
    """``with_change`` for several paths at once: all set, then the whole validated once.

    Used for persisted runtime overrides and by the API, so that a group of changes that is
    only consistent as a whole (``min_power_w`` and ``start_power_w``) is judged as a whole.
    """
    data = config.model_dump(mode="json")
    last_dotted = ""
    for path, value in changes.items():
        keys = _keys(path)
        if not keys:
            raise CommandError("no parameter named")
        dotted = last_dotted = ".".join(keys)
        _check_runtime(keys, value)
        node = data
        for key in keys[:-1]:
            child = node.get(key) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                raise CommandError(f"unknown parameter {dotted}", [(dotted, "unknown parameter")])
            node = child
        last = keys[-1]
        if not isinstance(node, dict) or last not in node:
            raise CommandError(f"unknown parameter {dotted}", [(dotted, "unknown parameter")])
        if isinstance(node[last], dict) and isinstance(value, dict):
            node[last] = {**node[last], **value}
        else:
            node[last] = value
    try:
        return ControllerConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in e["loc"]) or last_dotted, e["msg"]) for e in exc.errors()
        ]
        raise CommandError("; ".join(f"{f}: {m}" for f, m in problems), problems) from None
