"""What `config check` says about a canbridge YAML file: problems and what the stack would do.

Pure: takes the parsed YAML (a dict) and returns a ``Review``. Every section is validated with
the service's own settings model, from the file alone (no environment), so a key the service
would refuse is named here with the same words. Cross-service rules (the controller's unit is
one the gateway drives, both WiCAN services list the same cars) come on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from services.api.settings import ApiSettings
from services.bic_gateway.settings import BicGatewaySettings
from services.charge_controller.settings import ChargeControllerSettings
from services.sim.bic.settings import SimBicSettings
from services.sim.meter.settings import MeterSimSettings
from services.sim.wican.settings import SimWicanSettings
from services.wican_soc.settings import WicanSocSettings
from services.wican_status.settings import WicanStatusSettings
from shared.settings import SECRET_WORDS, ServiceSettings

#: config-file section -> the settings model of the service that reads it
MODELS: dict[str, type[ServiceSettings]] = {
    "api": ApiSettings,
    "wican-status": WicanStatusSettings,
    "wican-soc": WicanSocSettings,
    "bic-gateway": BicGatewaySettings,
    "charge-controller": ChargeControllerSettings,
    "sim-wican": SimWicanSettings,
    "sim-bic": SimBicSettings,
    "sim-meter": MeterSimSettings,
}
#: sections read by something else than a settings model (not validated here)
OTHER_SECTIONS = {"broker-setup"}
#: the services of the plain stack (simulators only with the sim profile)
STACK = ("api", "wican-status", "wican-soc", "bic-gateway", "charge-controller")
SHOWN_CHARS = 60


@dataclass
class Review:
    #: (where, message): the stack would refuse to start, or would misbehave
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: (where, message): allowed, but probably not what was meant
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: one line per service: what it would do with this file
    plan: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, message: str) -> None:
        if (where, message) not in self.problems:
            self.problems.append((where, message))


def _file_only(model: type[ServiceSettings]) -> type[ServiceSettings]:
    """The model reading nothing but its keyword arguments (no environment, no file)."""

    def sources(cls, settings_cls, init_settings, **_others):
        return (init_settings,)

    return type(model.__name__, (model,), {"settings_customise_sources": classmethod(sources)})


def _shown(key: str, value: object) -> str:
    if any(w in key.lower() for w in SECRET_WORDS) and not key.lower().endswith("_file"):
        return ""
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return f" (got {text[:SHOWN_CHARS]}{'...' if len(text) > SHOWN_CHARS else ''})"


def _describe(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    message = err["msg"].removeprefix("Value error, ")
    last = str(err["loc"][-1]) if err["loc"] else ""
    return message + _shown(last, err.get("input"))


def _merged(data: dict[str, Any], section: str) -> tuple[dict[str, Any], set[str]]:
    """Top-level shared keys + the section (as shared/settings.py merges them); section keys."""
    shared = {k: v for k, v in data.items() if k not in MODELS and k not in OTHER_SECTIONS}
    own = data.get(section) or {}
    merged = dict(shared)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged, set(own)


def _validate(review: Review, data: dict[str, Any], section: str) -> ServiceSettings | None:
    own = data.get(section)
    if own is not None and not isinstance(own, dict):
        review.add(section, "must be a mapping of keys")
        return None
    merged, from_section = _merged(data, section)
    try:
        return _file_only(MODELS[section])(**merged)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            in_section = bool(loc) and loc[0] in from_section
            where = ".".join(([section] if in_section or not loc else []) + loc)
            review.add(where, _describe(err))
        return None


Model = TypeVar("Model", bound=ServiceSettings)


def _as(model: type[Model], settings: ServiceSettings | None) -> Model | None:
    """A validated section as its own model (it was validated with a subclass of it)."""
    return settings if isinstance(settings, model) else None


def _shared_keys() -> set[str]:
    return set(ServiceSettings.model_fields)


def _gateway_plan(gw: BicGatewaySettings) -> str:
    if not gw.units:
        return "bic-gateway: no battery configured (units: []); leaves the CAN bus alone"
    units = ", ".join(str(u) for u in gw.units)
    return (
        f"bic-gateway: drives BIC-2200 unit(s) {units} over {gw.can.interface} "
        f"{gw.can.resolved_channel() or '(default channel)'}; safe idle after "
        f"{gw.watchdog.timeout_s:g} s without a setpoint"
    )


def _controller_plan(cc: ChargeControllerSettings) -> str:
    if cc.meter is None:
        return "charge-controller: no grid meter configured (meter: null); sends no setpoint"
    topics = ", ".join(s.topic for s in cc.meter.sources)
    what = {
        "auto": f"holds the grid at {cc.control.target_w:g} W",
        "hold": f"holds the grid at {cc.control.target_w:g} W but never discharges",
        "manual": f"sends a fixed {cc.manual_setpoint_w:g} W",
        "winter": "keeps the battery in its winter SoC window",
    }[cc.mode]
    state = "" if cc.enabled else " (disabled: safe idle until enabled)"
    return (
        f"charge-controller: mode {cc.mode}{state}: {what}, reading grid power from {topics}, "
        f"driving BIC unit {cc.gateway.unit} (charge <= {cc.control.max_charge_w:g} W, "
        f"discharge <= {cc.control.max_discharge_w:g} W)"
    )


def _vehicles_plan(ws: WicanStatusSettings) -> str:
    if not ws.vehicles:
        return "wican-status, wican-soc: no car configured (vehicles: []); both run idle"
    cars = "; ".join(
        f"{v.name} ({v.profile}, adapter {v.device_id}, every {v.poll_interval_s:g} s)"
        for v in ws.vehicles
    )
    return f"wican-status, wican-soc: ask {len(ws.vehicles)} car(s) for their SoC: {cars}"


def review(data: Any) -> Review:
    """Everything wrong with `data` (the parsed YAML) and what the stack would do with it."""
    result = Review()
    if not isinstance(data, dict):
        result.add("<file>", "the top level must be a mapping of keys")
        return result
    for key in data:
        if key not in MODELS and key not in OTHER_SECTIONS and key not in _shared_keys():
            result.add(
                str(key),
                "unknown key (neither a setting shared by all services nor a service section: "
                + ", ".join(sorted(MODELS))
                + ")",
            )
    known = {k: v for k, v in data.items() if k in MODELS or k in _shared_keys()}
    known.update({k: data[k] for k in OTHER_SECTIONS if k in data})
    loaded = {s: _validate(result, known, s) for s in MODELS if s in STACK or s in data}

    api = _as(ApiSettings, loaded.get("api"))
    gw = _as(BicGatewaySettings, loaded.get("bic-gateway"))
    cc = _as(ChargeControllerSettings, loaded.get("charge-controller"))
    status = _as(WicanStatusSettings, loaded.get("wican-status"))
    soc = _as(WicanSocSettings, loaded.get("wican-soc"))
    if api is not None:
        result.plan.append(
            f"api: dashboard and API on port {api.http_port}"
            + (f"; expects {', '.join(api.expected_services)}" if api.expected_services else "")
        )
    if status is not None:
        result.plan.append(_vehicles_plan(status))
    if gw is not None:
        result.plan.append(_gateway_plan(gw))
    if cc is not None:
        result.plan.append(_controller_plan(cc))
    for section, settings in loaded.items():
        if settings is None:
            result.plan.append(f"{section}: would not start (see the problems above)")
    if status is not None and soc is not None and status.vehicles != soc.vehicles:
        result.add(
            "wican-soc.vehicles",
            "differs from wican-status.vehicles: both must list the same cars "
            "(write the list once with &vehicles and reuse it with *vehicles)",
        )
    if gw is not None and cc is not None and cc.meter is not None:
        if not gw.units:
            result.add(
                "charge-controller.meter",
                "a meter is configured but bic-gateway.units is empty: the controller would "
                "send setpoints that no gateway takes",
            )
        elif cc.gateway.unit not in gw.units:
            result.add(
                "charge-controller.gateway.unit",
                f"unit {cc.gateway.unit} is not one of bic-gateway.units {gw.units}",
            )
        if abs(cc.gateway.efficiency - gw.battery.efficiency) > 1e-9:
            result.warnings.append(
                (
                    "charge-controller.gateway.efficiency",
                    f"{cc.gateway.efficiency:g} differs from bic-gateway.battery.efficiency "
                    f"{gw.battery.efficiency:g}: setpoints and the measured power disagree",
                )
            )
    if gw is not None and cc is not None and gw.units and cc.meter is None:
        result.warnings.append(
            (
                "charge-controller.meter",
                "BIC unit(s) configured but no grid meter: the battery is only monitored",
            )
        )
    return result


def report(path: str, result: Review) -> str:
    """The text `config check` prints."""
    lines = [f"config check: {path} (the file alone; CANBRIDGE_* variables override it)"]
    if result.problems:
        lines.append(f"{len(result.problems)} problem(s), the stack would refuse or misbehave:")
        lines += [f"  {where}: {message}" for where, message in result.problems]
    else:
        lines.append("no problems")
    if result.warnings:
        lines.append("warnings:")
        lines += [f"  {where}: {message}" for where, message in result.warnings]
    if result.plan:
        lines.append("what the stack would do:")
        lines += [f"  {line}" for line in result.plan]
    return "\n".join(lines)
