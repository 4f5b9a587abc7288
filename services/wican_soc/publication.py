"""What wican-soc publishes for one decoded reply (pure: topics and payloads).

- `<soc_topic>` (default `car/soc`), retained JSON:
  `{"soc": 82.1, "time": "2025-05-01T18:02:11+02:00", <other values>, "vehicle": "leaf"}`
- `<base>/vehicle/<name>/<value>`, retained plain number per value (for evcc)
- `<base>/vehicle/<name>/state`, retained JSON: the values plus time, profile, device and units

All carry the vehicle's MQTT v5 message expiry, so a value can age out on the broker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.wican_soc.profiles import Profile
from services.wican_soc.vehicles import VehicleConfig
from shared.contract.payloads import CarSoc, VehicleState
from shared.contract.topics import vehicle_topic

DECIMALS = 4


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool
    expiry_s: int | None


def _json(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, DECIMALS) for name, value in values.items()}


def soc_message(
    vehicle: VehicleConfig, values: dict[str, float], when: datetime
) -> dict[str, object]:
    """The `car/soc` JSON: soc and time first, the other values, then the vehicle name."""
    return CarSoc.model_validate(_soc_fields(vehicle, values, when)).model_dump()


def _soc_fields(
    vehicle: VehicleConfig, values: dict[str, float], when: datetime
) -> dict[str, object]:
    numbers = rounded(values)
    fields: dict[str, object] = {
        "soc": numbers.pop("soc"),
        "time": when.isoformat(timespec="seconds"),
    }
    fields.update(numbers)
    fields["vehicle"] = vehicle.name
    return fields


def units_of(profile: Profile) -> dict[str, str]:
    """Value name -> unit of a profile's values."""
    return {spec.name: spec.unit for spec in profile.values}


def state_message(
    vehicle: VehicleConfig, units: Mapping[str, str], values: dict[str, float], when: datetime
) -> dict[str, object]:
    """The `<base>/vehicle/<name>/state` JSON (wican-status reads it as proof of an answer).

    `profile` is the profile's name, or `autopid` when the adapter decoded the values.
    """
    fields = {
        **_soc_fields(vehicle, values, when),
        "device_id": vehicle.device_id,
        "profile": vehicle.profile or vehicle.source,
        "units": {name: units.get(name, "") for name in values},
    }
    return VehicleState.model_validate(fields).model_dump()


def publications(
    base: str,
    vehicle: VehicleConfig,
    units: Mapping[str, str],
    values: dict[str, float],
    when: datetime,
) -> list[Outgoing]:
    """Everything to publish for one accepted reading (`values` must contain `soc`)."""
    if "soc" not in values:
        raise ValueError("a reading without an accepted soc is not published")
    if when.tzinfo is None:
        raise ValueError("time must carry its zone")
    expiry = vehicle.expiry
    out: list[Outgoing] = []
    if vehicle.value_topics:
        out += [
            Outgoing(vehicle_topic(base, vehicle.name, name), _json_number(value), True, expiry)
            for name, value in rounded(values).items()
        ]
    state = state_message(vehicle, units, values, when)
    out.append(Outgoing(vehicle_topic(base, vehicle.name, "state"), _json(state), True, expiry))
    if vehicle.soc_topic:
        message = soc_message(vehicle, values, when)
        out.append(Outgoing(vehicle.soc_topic, _json(message), True, expiry))
    return out


def _json_number(value: float) -> bytes:
    return json.dumps(value, allow_nan=False).encode()
