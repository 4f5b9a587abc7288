"""Values the WiCAN decodes itself ("Automate"/AutoPID), read from its MQTT messages.

Pure. What the adapter's firmware publishes (main/autopid.c, main/mqtt.c of meatpiHQ/wican-fw):

- grouped (the usual setting): one JSON object with every parameter it decoded, e.g.
  `{"SOC": 80.5, "SOH": 97, "CHARGING": "on"}` - numbers, binary sensors as "on"/"off";
- per parameter with the "MQTT Topic" destination type: `{"SOC": 80.5}` on that topic;
- per parameter with the "Wallbox" destination type: the bare number, `80.50`.

Without a configured destination it uses its rx topic `wican/<id>/can/rx`, where raw CAN
messages (`{"bus": ..., "frame": [...]}`) would also appear; those are not AutoPID values and
are skipped. The adapter publishes them retained and without a time, so a retained one seen
on subscribe is stale: the service ignores it and waits for a live message.
"""

from __future__ import annotations

import json
import math
from typing import Any

from services.wican_soc.decode import DecodeResult, Rejected
from services.wican_soc.vehicles import AutopidInput

MAX_PAYLOAD = 16 * 1024


class NotAutopid(ValueError):
    """The message is not an AutoPID value message (e.g. raw CAN frames, or garbage)."""


def _load(payload: bytes | bytearray) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise NotAutopid(f"payload of {len(payload)} bytes is larger than {MAX_PAYLOAD}")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise NotAutopid("not JSON") from None


def parameters(payload: bytes | bytearray, config: AutopidInput) -> dict[str, Any]:
    """The adapter's parameters in `payload` (name -> raw JSON value)."""
    data = _load(payload)
    if isinstance(data, dict):
        if "frame" in data:
            raise NotAutopid("raw CAN frames, not AutoPID values")
        return data
    if isinstance(data, int | float) and not isinstance(data, bool) and len(config.values) == 1:
        # "Wallbox" destination: a bare number on a topic of its own
        return {next(iter(config.values.values())): data}
    raise NotAutopid("neither a JSON object of parameters nor a bare number")


def _plausible(name: str, value: object) -> float | str:
    """The value as a float, or why it is not usable."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"not a number: {str(value)[:40]!r}"
    number = float(value)
    if not math.isfinite(number):
        return "not a finite number"
    if (name == "soc" or name.startswith("soc_")) and not 0.0 <= number <= 100.0:
        return f"implausible: {number:g} % outside 0..100"
    return number


def decode_autopid(payload: bytes | bytearray, config: AutopidInput) -> DecodeResult:
    """canbridge's values from one AutoPID message; parameters it does not carry are skipped
    (a per-parameter message carries one), so `soc` may be missing from the result."""
    found = parameters(payload, config)
    values: dict[str, float] = {}
    rejected: list[Rejected] = []
    for name, parameter in config.values.items():
        if parameter not in found:
            continue
        checked = _plausible(name, found[parameter])
        if isinstance(checked, str):
            rejected.append(Rejected(name, f"{parameter}: {checked}"))
        else:
            values[name] = checked
    return DecodeResult(values, rejected)
