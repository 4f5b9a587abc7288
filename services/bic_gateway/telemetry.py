"""MQTT payloads built from register values, as pure functions.

Sign convention everywhere: current and power > 0 = charging (AC->DC, drawn from the grid),
< 0 = discharging (DC->AC, fed to the grid). ``ac_power`` is an estimate (the BIC has no AC
current register): ``shared.contract.efficiency.ac_from_dc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.contract.efficiency import ac_from_dc

from .flags import (
    FAULT_STATUS_BITS,
    active_faults,
    decode_fault_status,
    decode_system_status,
    system_status_problems,
)
from .npb_flags import charge_status_problems, decode_charge_status

# register value -> name; any other value (or none read yet) -> None
DIRECTIONS: dict[object, str] = {0: "charge", 1: "discharge"}
OPERATIONS: dict[object, str] = {0: "off", 1: "on"}


def _round(value: Any, digits: int = 2) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def state_payload(values: dict[str, Any], efficiency: float, time_iso: str) -> dict[str, Any]:
    """The retained `state` JSON from the last register values (missing ones are null)."""
    voltage = values.get("READ_VOUT")
    current = values.get("READ_IOUT")
    dc_power = voltage * current if voltage is not None and current is not None else None
    fault_raw = values.get("FAULT_STATUS")
    status_raw = values.get("SYSTEM_STATUS")
    flags: dict[str, bool] = {}
    if fault_raw is not None:
        flags.update(decode_fault_status(int(fault_raw)))
    if status_raw is not None:
        flags.update(decode_system_status(int(status_raw)))
    problems = (active_faults(int(fault_raw)) if fault_raw is not None else []) + (
        system_status_problems(int(status_raw)) if status_raw is not None else []
    )
    charge_raw = values.get("CHG_STATUS")  # NPB chargers only
    if charge_raw is not None:
        problems += charge_status_problems(int(charge_raw))
    return {
        "time": time_iso,
        "voltage": voltage,
        "current": current,
        "dc_power": _round(dc_power, 1),
        "ac_power": _round(ac_from_dc(dc_power, efficiency), 1) if dc_power is not None else None,
        "ac_voltage": values.get("READ_VIN"),
        "temperature": values.get("READ_TEMPERATURE_1"),
        "fan1": values.get("READ_FAN_SPEED_1"),
        "fan2": values.get("READ_FAN_SPEED_2"),
        "direction": DIRECTIONS.get(values.get("DIRECTION_CTRL")),
        "operation": OPERATIONS.get(values.get("OPERATION")),
        "setpoints": {
            "vout_set": values.get("VOUT_SET"),
            "iout_set": values.get("IOUT_SET"),
            "reverse_vout_set": values.get("REVERSE_VOUT_SET"),
            "reverse_iout_set": values.get("REVERSE_IOUT_SET"),
        },
        "flags": flags,
        "charge_status": decode_charge_status(int(charge_raw)) if charge_raw is not None else None,
        "problems": problems,
    }


#: plain per-value topics: suffix -> key in the state payload
PLAIN_VALUES: dict[str, str] = {
    "voltage": "voltage",
    "current": "current",
    "dc_power": "dc_power",
    "ac_power": "ac_power",
    "ac_voltage": "ac_voltage",
    "temperature": "temperature",
    "direction": "direction",
    "operation": "operation",
}


def plain_values(state: dict[str, Any]) -> dict[str, str]:
    return {
        suffix: str(state[key]) for suffix, key in PLAIN_VALUES.items() if state[key] is not None
    }


@dataclass
class FaultCounter:
    """Counts how often each FAULT_STATUS flag became active (rising edges)."""

    counts: dict[str, int] = field(default_factory=dict)
    active: dict[str, bool] = field(default_factory=dict)

    def update(self, raw: int) -> bool:
        """Feed a FAULT_STATUS word; True if any flag changed."""
        changed = False
        for flag in FAULT_STATUS_BITS:
            now = bool(raw & flag.mask)
            before = self.active.get(flag.name)
            if now and not before:
                self.counts[flag.name] = self.counts.get(flag.name, 0) + 1
            if now != before:
                changed = True
            self.active[flag.name] = now
        return changed

    def payload(self, raw: int | None, time_iso: str) -> dict[str, Any]:
        return {
            "time": time_iso,
            "raw": raw,
            "flags": {
                flag.name: {
                    "active": self.active.get(flag.name, False),
                    "count": self.counts.get(flag.name, 0),
                    "severity": flag.severity.value,
                    "description": flag.description,
                }
                for flag in FAULT_STATUS_BITS
            },
        }
