"""Home Assistant device discovery for the cars (pure payload builders).

One HA device per vehicle, identified by its WiCAN adapter. Every value of the vehicle's
profile becomes a sensor read from the retained `<base>/vehicle/<name>/state` JSON (published
for every reading, whatever `value_topics` says); `soc` is the device's main entity.
Availability: wican-soc's status AND the adapter's own status (JSON `{"status": ...}`), so the
values show as unavailable while the car sleeps or the service is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.wican_soc.profiles import Profile
from services.wican_soc.vehicles import VehicleConfig
from shared import ha_discovery as ha
from shared.contract.topics import status_topic, vehicle_topic, wican_status_topic

SERVICE = "wican-soc"
WICAN_STATUS_TEMPLATE = "{{ value_json.status }}"

#: value name -> entity name (others: the name with spaces, capitalised)
NAMES = {
    "soc_bms": "SoC (battery controller)",
    "soh": "SoH",
    "hx": "Hx",
    "hv_voltage": "HV battery voltage",
    "aux_voltage": "12 V battery",
    "lv_voltage": "12 V battery",
    "capacity": "Capacity",
}
#: unit -> (device_class, unit HA expects)
UNIT_CLASSES: dict[str, tuple[str, str]] = {
    "V": ("voltage", "V"),
    "A": ("current", "A"),
    "W": ("power", "W"),
    "kW": ("power", "kW"),
    "kWh": ("energy_storage", "kWh"),
    "°C": ("temperature", "°C"),
    "degC": ("temperature", "°C"),
    "C": ("temperature", "°C"),
    "km": ("distance", "km"),
}


def node_id(base: str, vehicle: VehicleConfig) -> str:
    return f"{ha.slug(base)}_vehicle_{vehicle.name}"


def unique_id(base: str, vehicle: VehicleConfig, value: str) -> str:
    return f"{node_id(base, vehicle)}_{value}"


class NamedValue(Protocol):
    """What a sensor needs of a value: a profile's ValueSpec or an AutoPID value."""

    @property
    def name(self) -> str: ...

    @property
    def unit(self) -> str: ...


@dataclass(frozen=True)
class AutopidValue:
    name: str
    unit: str


def value_sensor(base: str, vehicle: VehicleConfig, spec: NamedValue) -> dict[str, Any]:
    """The sensor of one profile value, classed by its name (SoC) or unit."""
    kw: dict[str, Any] = {"device_class": None, "unit": spec.unit or None, "precision": 1}
    name: str | None = NAMES.get(spec.name, spec.name.replace("_", " ").capitalize())
    if spec.name == "soc" or spec.name.startswith("soc_"):
        kw.update(device_class="battery", unit="%", precision=0)
        name = None if spec.name == "soc" else name  # the device's main entity
    elif spec.name in ("soh", "hx"):
        kw.update(entity_category="diagnostic", icon="mdi:battery-heart-variant")
    elif spec.unit in UNIT_CLASSES:
        kw["device_class"], kw["unit"] = UNIT_CLASSES[spec.unit]
    return ha.sensor(
        unique_id(base, vehicle, spec.name),
        name,
        vehicle_topic(base, vehicle.name, "state"),
        value_template=f"{{{{ value_json.{spec.name} | default('') }}}}",
        **kw,
    )


def vehicle_device(
    base: str,
    vehicle: VehicleConfig,
    profile: Profile,
    wican_status: str | None = None,
) -> dict[str, Any]:
    """The `homeassistant/device/<node>/config` payload of one car.

    `wican_status` is the adapter's status topic (default `wican/<id>/status`; the service
    passes `wican/<id>/can/status` once it has seen the adapter use that layout).
    """
    return _device(base, vehicle, profile.name, vehicle.profile, profile.values, wican_status)


def autopid_device(
    base: str, vehicle: VehicleConfig, wican_status: str | None = None
) -> dict[str, Any]:
    """The HA device of a car whose adapter decodes itself (source autopid)."""
    assert vehicle.autopid is not None
    specs = [AutopidValue(name, vehicle.autopid.unit_of(name)) for name in vehicle.autopid.values]
    return _device(base, vehicle, "WiCAN AutoPID", "autopid", specs, wican_status)


def _device(
    base: str,
    vehicle: VehicleConfig,
    model: str,
    model_id: str,
    specs: Sequence[NamedValue],
    wican_status: str | None,
) -> dict[str, Any]:
    device = {
        "identifiers": [f"wican_{ha.slug(vehicle.device_id)}"],
        "name": vehicle.name,
        "model": model,
        "model_id": model_id,
        "manufacturer": "canbridge via WiCAN",
        "serial_number": vehicle.device_id,
    }
    components = {spec.name: value_sensor(base, vehicle, spec) for spec in specs}
    avail = ha.availability(
        (status_topic(base, SERVICE), None),
        (wican_status or wican_status_topic(vehicle.device_id), WICAN_STATUS_TEMPLATE),
    )
    return ha.device_config(device, components, avail, mode="all")
