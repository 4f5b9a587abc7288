"""Home Assistant device discovery for the BIC-2200 units (pure payload builders).

One HA device per unit, announced once the unit is identified (model and serial known):
measurements from the plain retained topics, energy counters for the Energy dashboard, one
`problem` binary sensor per fault/alarm flag of the `fault` JSON, an on/off switch
(`set/state`, OPERATION) and a DC power setpoint number (`set/power`) whose range comes
from the model and the configured current limits. Availability: the gateway's status AND
the unit's `availability`.

An NPB charger gets no discharge side: its setpoint number runs from 0 W, and the "Energy
discharged" counter is left out (docs/npb.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared import ha_discovery as ha
from shared.contract.topics import SET_POWER, SET_STATE, UnitTopics, status_topic

from .flags import FAULT_STATUS_BITS, BitFlag, Severity
from .models import DeviceModel
from .setpoint import CurrentLimits, effective_limits

if TYPE_CHECKING:  # the adapter's types; this module stays free of the bus
    from .settings import BicGatewaySettings
    from .unit import UnitInfo

SERVICE = "bic-gateway"

#: suffix of the plain topic -> (entity name, device_class, unit)
MEASUREMENTS: dict[str, tuple[str | None, str, str]] = {
    "dc_power": (None, "power", "W"),  # main entity: + charging, - discharging
    "ac_power": ("AC power (estimate)", "power", "W"),
    "voltage": ("Battery voltage", "voltage", "V"),
    "current": ("Current", "current", "A"),
    "ac_voltage": ("AC voltage", "voltage", "V"),
    "temperature": ("Temperature", "temperature", "°C"),
}
ENERGY: dict[str, str] = {
    "energy_charged": "Energy charged",
    "energy_discharged": "Energy discharged",
}
#: setpoint number's state: the applied (quantised) DC power of the last plan
SETPOINT_TEMPLATE = "{{ value_json.power_w | default(0, true) }}"


def node_id(base: str, unit: int) -> str:
    return f"{ha.slug(base)}_bic_{unit}"


def unique_id(base: str, unit: int, value: str) -> str:
    return f"{node_id(base, unit)}_{value}"


def power_range(model: DeviceModel, limits: CurrentLimits) -> tuple[float, float]:
    """(min, max) DC W of the setpoint number: current limits x the model's nominal voltage
    (a charge-only model: from 0)."""
    effective = effective_limits(model, limits)
    volts = model.nominal_voltage
    low = -math.floor(effective.max_discharge_a * volts) if model.bidirectional else 0
    return (low, math.floor(effective.max_charge_a * volts))


def fault_flags() -> list[BitFlag]:
    """The FAULT_STATUS flags worth a problem sensor (not the informational OP_OFF)."""
    return [f for f in FAULT_STATUS_BITS if f.severity is not Severity.STATUS]


def _fault_name(flag: BitFlag) -> str:
    text = flag.description.split(";")[0].strip() or flag.manual_name
    return text[0].upper() + text[1:]


def unit_components(
    base: str, unit: int, model: DeviceModel, limits: CurrentLimits
) -> dict[str, dict[str, Any]]:
    topics = UnitTopics(base, unit)
    out: dict[str, dict[str, Any]] = {}
    for suffix, (name, device_class, unit_of) in MEASUREMENTS.items():
        if suffix == "ac_voltage" and not model.has_vin:
            continue  # NPB-450/750 do not measure it
        out[suffix] = ha.sensor(
            unique_id(base, unit, suffix),
            name,
            topics.value(suffix),
            device_class=device_class,
            unit=unit_of,
            precision=1 if unit_of != "A" else 2,
        )
    for suffix, name in ENERGY.items():
        if suffix == "energy_discharged" and not model.bidirectional:
            continue  # a charger never discharges
        out[suffix] = ha.sensor(
            unique_id(base, unit, suffix),
            name,
            topics.value(suffix),
            device_class="energy",
            unit="kWh",
            state_class="total_increasing",
            precision=2,
        )
    for flag in fault_flags():
        key = f"fault_{flag.name}"
        out[key] = ha.binary_sensor(
            unique_id(base, unit, key),
            _fault_name(flag),
            topics.fault,
            device_class="problem",
            value_template=(f"{{{{ 'ON' if value_json.flags.{flag.name}.active else 'OFF' }}}}"),
            entity_category="diagnostic",
        )
    out["operation"] = ha.switch(
        unique_id(base, unit, "operation"),
        "Output",
        topics.operation,
        topics.set(SET_STATE),
        payload_on="1",
        payload_off="0",
        state_on="on",
        state_off="off",
    )
    low, high = power_range(model, limits)
    out["setpoint_power"] = ha.number(
        unique_id(base, unit, "setpoint_power"),
        "Power setpoint",
        topics.setpoint,
        topics.set(SET_POWER),
        minimum=low,
        maximum=high,
        step=1,
        unit="W",
        device_class="power",
        value_template=SETPOINT_TEMPLATE,
    )
    return out


def unit_device(
    base: str,
    unit: int,
    model: DeviceModel,
    *,
    serial: str = "",
    firmware: str = "",
    limits: CurrentLimits | None = None,
) -> dict[str, Any]:
    """The `homeassistant/device/<node>/config` payload of one unit."""
    serial = serial.strip()
    device: dict[str, Any] = {
        "identifiers": [f"bic2200_{ha.slug(serial)}" if serial else node_id(base, unit)],
        "name": f"{'BIC-2200' if model.bidirectional else 'NPB charger'} unit {unit}",
        "manufacturer": "Mean Well",
        "model": model.name,
    }
    if serial:
        device["serial_number"] = serial
    if firmware:
        device["sw_version"] = firmware
    topics = UnitTopics(base, unit)
    avail = ha.availability((status_topic(base, SERVICE), None), (topics.availability, None))
    components = unit_components(base, unit, model, limits or CurrentLimits())
    return ha.device_config(device, components, avail, mode="all")


def announcer(
    publisher: ha.DiscoveryPublisher, settings: BicGatewaySettings
) -> Callable[[UnitInfo], None]:
    """`Gateway(on_identified=...)`: (re)announce a unit each time it is identified."""
    battery = settings.battery
    limits = CurrentLimits(battery.max_charge_a, battery.max_discharge_a, battery.min_current_a)
    base = settings.base_topic

    def announce(info: UnitInfo) -> None:
        firmware = " ".join(r for r in info.revisions if r)
        publisher.register(
            node_id(base, info.address),
            lambda: unit_device(
                base, info.address, info.model, serial=info.serial, firmware=firmware, limits=limits
            ),
        )

    return announce
