"""What the dashboard shows, from the API's caches, as one JSON-ready dict. No I/O.

``summarize`` turns the retained state the API keeps (controller, BIC units, vehicles, adapter
status, the services' published configs) into cards: numbers with their age, flags in words,
and what is not configured with the section of the docs that explains it. ``/metrics`` reads
the same summary, so the dashboard and Grafana never disagree.
"""

from __future__ import annotations

import math
from typing import Any

from services.bic_gateway.flags import FAULT_STATUS_BITS, SYSTEM_STATUS_BITS

#: docs pages are served by the API under /guide/ (the repo's docs/ folder)
GUIDE = "/guide/"
SETUP_DOCS = {
    "battery": "bic2200.md#configuration-bic-gateway-in-configcanbridgeyaml",
    "car": "vehicles.md#configuration",
    "meter": "charge-controller.md#configuration",
}

FLAG_WORDS = {f.name: f.description for f in FAULT_STATUS_BITS}
STATUS_PROBLEM_WORDS = {
    "eeprom_error": "EEPROM access error: the unit shuts down until re-powered",
    "initialising": "initialising",
    "dc_not_ok": "DC output not normal",
    "pfc_not_ok": "AC input stage (PFC) not normal",
}
SYSTEM_WORDS = {f.name: f.description for f in SYSTEM_STATUS_BITS}


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _value(entry: dict[str, Any] | None, key: str = "value") -> dict[str, Any]:
    """``entry[key]`` when it is a JSON object, else empty (missing or odd reads as empty)."""
    value = entry.get(key) if entry else None
    return value if isinstance(value, dict) else {}


def _age(entry: dict[str, Any] | None) -> float | None:
    return None if entry is None else entry.get("age_s")


def controller_card(
    entry: dict[str, Any] | None, decisions: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if entry is None:
        return None
    state = _value(entry)
    if state.get("configured") is False:
        return {
            "configured": False,
            "reason": state.get("reason"),
            "docs": GUIDE + SETUP_DOCS["meter"],
            "age_s": _age(entry),
        }
    soc = _value(state, "soc")
    limits = _value(state, "limits")
    meter = _value(state, "meter")
    enabled = state.get("enabled") is not False
    return {
        "configured": True,
        "enabled": enabled,
        "mode": state.get("mode") if enabled else "off",
        "target_w": number(state.get("target_w")),
        "setpoint_w": number(state.get("setpoint_w")),
        "grid_w": number(state.get("grid_w")),
        "battery_w": number(state.get("battery_w")),
        "soc_pct": number(soc.get("pct")),
        "soc_source": soc.get("source"),
        "meter_ok": meter.get("ok"),
        "meter_reason": meter.get("reason"),
        "limits": {
            "max_charge_w": number(limits.get("max_charge_w")),
            "max_discharge_w": number(limits.get("max_discharge_w")),
            "profile": limits.get("profile"),
            "reasons": [str(r) for r in limits.get("reasons") or []],
        },
        "gateway_online": state.get("gateway_online"),
        "decisions": decisions[:10],
        "age_s": _age(entry),
    }


def _faults(fault: dict[str, Any], state: dict[str, Any]) -> list[dict[str, Any]]:
    flags = _value(fault, "flags")
    out = [
        {
            "name": name,
            "severity": info.get("severity"),
            "words": info.get("description") or FLAG_WORDS.get(name, name),
            "count": info.get("count"),
        }
        for name, info in flags.items()
        if isinstance(info, dict) and info.get("active") and info.get("severity") != "status"
    ]
    if not flags:  # no fault topic yet: the state's own problem list
        out = [
            {"name": p, "severity": "fault", "words": FLAG_WORDS.get(p, p), "count": None}
            for p in state.get("problems") or []
            if p in FLAG_WORDS
        ]
    return out


def _status_words(state: dict[str, Any], wear: dict[str, Any]) -> list[str]:
    flags = _value(state, "flags")
    words = []
    if state.get("operation"):
        words.append(f"output {state['operation']}")
    if "master" in flags:
        words.append("master" if flags["master"] else "slave (parallel operation)")
    words += [
        STATUS_PROBLEM_WORDS.get(p, p)
        for p in state.get("problems") or []
        if p in STATUS_PROBLEM_WORDS
    ]
    if flags.get("adl_on"):
        words.append(SYSTEM_WORDS["adl_on"])
    if flags.get("hi_temp"):
        words.append(FLAG_WORDS["hi_temp"])
    if wear.get("eep_off_active"):
        words.append("setpoints not written to EEPROM (EEP_OFF)")
    return words


def battery_card(
    unit: str, parts: dict[str, Any], online: str | None, today: dict[str, float | None]
) -> dict[str, Any]:
    state, fault = _value(parts.get("state")), _value(parts.get("fault"))
    wear = _value(parts.get("write_counters"))
    info = _value(parts.get("info"))
    writes = number(wear.get("eeprom_total"))  # eeprom_writes: the same, per register
    budget = number(wear.get("budget"))
    return {
        "unit": unit,
        "model": info.get("model"),
        "online": online,
        "voltage": number(state.get("voltage")),
        "current": number(state.get("current")),
        "power_w": number(state.get("ac_power")),
        "temperature": number(state.get("temperature")),
        "direction": state.get("direction"),
        "faults": _faults(fault, state),
        "status": _status_words(state, wear),
        "eeprom": {
            "writes": writes,
            "budget": budget,
            "used_pct": None if not writes or not budget else round(100 * writes / budget, 4),
            "eep_off": wear.get("eep_off_active"),
        },
        "energy_today_kwh": today,
        "age_s": _age(parts.get("state")),
    }


def vehicle_card(name: str, entry: dict[str, Any], adapter: str | None) -> dict[str, Any]:
    state = _value(entry)
    return {
        "name": name,
        "soc": number(state.get("soc")),
        "soh": number(state.get("soh")),
        "time": state.get("time"),
        "age_s": _age(entry),
        "profile": state.get("profile"),
        "adapter": adapter or "unknown",
    }


def setup_notes(
    configs: dict[str, Any], controller: dict[str, Any] | None, units: int, vehicles: int
) -> list[dict[str, str]]:
    """What is not configured, each with the docs section that explains it."""
    notes = []
    gateway = configs.get("bic-gateway")
    if units == 0 and isinstance(gateway, dict) and gateway.get("units") == []:
        notes.append(
            {
                "what": "battery",
                "text": "No battery configured: bic-gateway.units is empty, the CAN bus is "
                "left alone.",
                "docs": GUIDE + SETUP_DOCS["battery"],
            }
        )
    status = configs.get("wican-status")
    if vehicles == 0 and isinstance(status, dict) and status.get("vehicles") == []:
        notes.append(
            {
                "what": "car",
                "text": "No car configured: add your car and its WiCAN adapter to vehicles.",
                "docs": GUIDE + SETUP_DOCS["car"],
            }
        )
    if controller is not None and controller.get("configured") is False:
        notes.append(
            {
                "what": "meter",
                "text": "No grid meter configured: the charge controller sends no setpoint.",
                "docs": GUIDE + SETUP_DOCS["meter"],
            }
        )
    return notes


def summarize(
    health: dict[str, Any],
    controller: dict[str, Any] | None,
    decisions: list[dict[str, Any]],
    bic_units: dict[str, dict[str, Any]],
    availability: dict[str, str],
    energy_today: dict[str, dict[str, float | None]],
    vehicles: dict[str, dict[str, Any]],
    adapters: dict[str, str],
    configs: dict[str, Any],
    time_iso: str,
) -> dict[str, Any]:
    """The dashboard's whole state (GET /dashboard/state)."""
    card = controller_card(controller, decisions)
    cars = []
    for name, entry in vehicles.items():
        device = _value(entry).get("device_id")
        cars.append(vehicle_card(name, entry, adapters.get(device) if device else None))
    units = [
        battery_card(
            unit,
            parts,
            availability.get(unit),
            energy_today.get(unit, {"charged": None, "discharged": None}),
        )
        for unit, parts in bic_units.items()
    ]
    return {
        "time": time_iso,
        "health": health,
        "setup": setup_notes(configs, card, len(units), len(cars)),
        "controller": card,
        "batteries": units,
        "vehicles": cars,
    }
