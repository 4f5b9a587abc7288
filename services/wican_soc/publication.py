"""What wican-soc publishes for one decoded reply (pure: topics and payloads).

- `<soc_topic>` (default `car/soc`), retained JSON:
  `{"soc": 82.1, "time": "2025-05-01T18:02:11+02:00", <other values>, "vehicle": "leaf"}`
- `<base>/vehicle/<name>/<value>`, retained plain number per value (for evcc)
- `<base>/vehicle/<name>/state`, retained JSON: the values plus time, profile, device and units

All carry the vehicle's MQTT v5 message expiry, so a value can age out on the broker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from services.wican_soc.profiles import Profile
from services.wican_soc.topics import vehicle_topic
from services.wican_soc.vehicles import VehicleConfig

DECIMALS = 4


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool
    expiry_s: int | None


def _json(obj: dict) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, DECIMALS) for name, value in values.items()}


def soc_message(vehicle: VehicleConfig, values: dict[str, float], when: datetime) -> dict:
    """The `car/soc` JSON: soc and time first, the other values, then the vehicle name."""
    numbers = rounded(values)
    message: dict = {"soc": numbers.pop("soc"), "time": when.isoformat(timespec="seconds")}
    message.update(numbers)
    message["vehicle"] = vehicle.name
    return message


def state_message(
    vehicle: VehicleConfig, profile: Profile, values: dict[str, float], when: datetime
) -> dict:
    """The `<base>/vehicle/<name>/state` JSON (wican-status reads it as proof of an answer)."""
    units = {spec.name: spec.unit for spec in profile.values if spec.name in values}
    return {
        **soc_message(vehicle, values, when),
        "device_id": vehicle.device_id,
        "profile": vehicle.profile,
        "units": units,
    }


def publications(
    base: str, vehicle: VehicleConfig, profile: Profile, values: dict[str, float], when: datetime
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
    state = state_message(vehicle, profile, values, when)
    out.append(Outgoing(vehicle_topic(base, vehicle.name, "state"), _json(state), True, expiry))
    if vehicle.soc_topic:
        message = soc_message(vehicle, values, when)
        out.append(Outgoing(vehicle.soc_topic, _json(message), True, expiry))
    return out


def _json_number(value: float) -> bytes:
    return json.dumps(value, allow_nan=False).encode()
