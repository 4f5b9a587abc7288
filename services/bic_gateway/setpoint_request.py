"""Parsing and checking setpoint commands from MQTT (pure); what to write for them is ``plans``.

Accepted payloads:
* ``set/power``: ``-800`` or ``{"value": -800, "ts": <epoch s>}`` (W, + charge, - discharge);
* ``set/current``: ``12.5`` or ``{"value": 12.5, "ts": ...}`` (A);
* ``set/charge`` (legacy bridge): ``{"var": "chargeP", "val": <W>}`` or
  ``{"var": "chargeA", "val": <A>}``;
* ``set/state`` (legacy bridge): ``0``/``1`` (also ``off``/``on``, ``false``/``true``).

``ts`` is optional; a command older than ``max_command_age_s`` is dropped (MQTT v5 message expiry
does the same on the broker side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.contract.status import parse_switch
from shared.mqtt_client import decode_json

from .setpoint import SetpointUnit

LEGACY_VARS = {"chargeP": SetpointUnit.WATT, "chargeA": SetpointUnit.AMPERE}


@dataclass(frozen=True)
class SetpointRequest:
    value: float
    unit: SetpointUnit
    ts: float | None = None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _ts(data: dict[str, object]) -> float | None:
    ts = data.get("ts")
    return None if ts is None else _number(ts, "ts")


def parse_setpoint(name: str, payload: bytes | bytearray) -> SetpointRequest:
    data = decode_json(payload)
    if name == "charge":
        var = data.get("var") if isinstance(data, dict) else None
        if not isinstance(var, str) or var not in LEGACY_VARS:
            raise ValueError('expected {"var": "chargeA"|"chargeP", "val": <number>}')
        return SetpointRequest(_number(data.get("val"), "val"), LEGACY_VARS[var], _ts(data))
    unit = SetpointUnit.WATT if name == "power" else SetpointUnit.AMPERE
    if isinstance(data, dict):
        return SetpointRequest(_number(data.get("value"), "value"), unit, _ts(data))
    return SetpointRequest(_number(data, name), unit)


def parse_state(payload: bytes | bytearray) -> int:
    """The legacy ``set/state``: OPERATION 1/0 from an on/off word (shared.contract.status)."""
    text = payload.decode("utf-8", "replace")
    on = parse_switch(text)
    if on is None:
        word = text.strip().strip('"').lower()
        raise ValueError(f"expected 0/1 (or off/on), got {word[:20]!r}")
    return int(on)


def too_old(ts: float | None, now: float, max_age_s: float) -> str | None:
    if ts is None:
        return None
    age = now - ts
    return f"command is {age:.1f} s old (limit {max_age_s:g} s)" if age > max_age_s else None


def sent_before_offline(ts: float | None, offline_since: float | None) -> str | None:
    """A setpoint stamped before the controller was last seen going offline is from its
    previous run: after a quick restart it can still be queued behind the new ``online``."""
    if ts is None or offline_since is None or ts > offline_since:
        return None
    return (
        f"sent {offline_since - ts:.1f} s before the controller went offline: from its "
        "previous run, not applied"
    )
