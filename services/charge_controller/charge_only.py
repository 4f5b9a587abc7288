"""A charge-only unit (an NPB charger behind the gateway), as pure logic (docs/npb.md).

The gateway's retained ``<base>/bic/<unit>/info`` says whether the unit is bidirectional and
gives its charge-current range (``ranges.IOUT_SET``). A charger

* never discharges: the supervisor refuses discharge for it (a limit, with the reason);
* cannot trickle: its minimum current is about 20 % of its maximum (e.g. 3.6 A x 52 V ~ 190 W on
  an NPB-1200-48), and the gateway switches it off below that. So instead of asking for less,
  ``ChargeSwitch`` **switches**: on once the law asks for at least the minimum power plus a
  hysteresis, and only after the unit has been off for ``min_off_s``; while on, it follows the law
  down to the minimum and switches off below it, but not before it has been on for ``min_on_s``
  (until then it holds the minimum). The minimum times keep a surplus that hovers around the
  threshold from chattering the output, whose every on/off is an EEPROM write in the unit.

No I/O, no clock: ``now`` is passed in (monotonic seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.mqtt_client import decode_json

#: the gateway quantises the current down to 0.01 A and converts with its own voltage reading:
#: ask a little above the minimum so the request never lands just below it
MIN_POWER_MARGIN = 1.02


class SwitchParams(BaseModel):
    """How a charge-only unit is switched (used only when the gateway says it is one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hysteresis_w: float = Field(
        100.0, ge=0.0, le=5000.0, description="start once the law asks for minimum + this (W)"
    )
    min_on_s: float = Field(
        120.0, ge=0.0, le=3600.0, description="charge at least this long once switched on"
    )
    min_off_s: float = Field(
        120.0, ge=0.0, le=3600.0, description="stay off at least this long once switched off"
    )


@dataclass(frozen=True)
class UnitCapabilities:
    """What the controller needs to know about the unit, from the gateway's `info`."""

    model: str
    bidirectional: bool
    min_charge_a: float | None  # the charge-current minimum (None: not reported)
    nominal_voltage: float | None
    max_charge_a: float | None = None  # the model's charge-current maximum

    @property
    def charge_only(self) -> bool:
        return not self.bidirectional

    def min_charge_w(self, battery_v: float | None, efficiency: float) -> float:
        """AC watts at the minimum charge current (0 if unknown), with a small margin."""
        volts = battery_v or self.nominal_voltage
        if not self.min_charge_a or not volts:
            return 0.0
        return math.ceil(self.min_charge_a * MIN_POWER_MARGIN * volts / efficiency)

    def max_charge_w(self, battery_v: float | None, efficiency: float) -> float | None:
        """AC watts at the maximum charge current, a little below it (None if unknown): more
        would be refused by the gateway (NPB-1200-48: ~985 W, below the default 2200 W cap)."""
        volts = battery_v or self.nominal_voltage
        if not self.max_charge_a or not volts:
            return None
        return float(math.floor(self.max_charge_a * volts / efficiency / MIN_POWER_MARGIN))


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def parse_info(payload: bytes | bytearray) -> UnitCapabilities | None:
    """The gateway's `info` JSON -> capabilities; None if unusable. A payload without
    ``bidirectional`` (a gateway from before the NPB) describes a BIC-2200."""
    try:
        data = decode_json(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        return None
    bidirectional = data.get("bidirectional", True)
    charge_range = (data.get("ranges") or {}).get("IOUT_SET")
    minimum = maximum = None
    if isinstance(charge_range, list) and len(charge_range) == 2:
        minimum, maximum = _number(charge_range[0]), _number(charge_range[1])
    return UnitCapabilities(
        model=data["model"],
        bidirectional=bidirectional is not False,
        min_charge_a=minimum,
        nominal_voltage=_number(data.get("nominal_voltage")),
        max_charge_a=maximum,
    )


@dataclass
class ChargeSwitch:
    """On/off state of a charge-only unit and the rule that switches it (module docstring)."""

    params: SwitchParams = SwitchParams()
    on: bool = False
    since: float | None = None  # when it last switched (None: not since start)

    def observe(self, now: float, setpoint_w: float) -> None:
        """The setpoint now in force (whatever decided it): keeps the on/off timing true."""
        on = setpoint_w > 0
        if on != self.on:
            self.on, self.since = on, now

    def gate(self, now: float, wanted_w: float, min_w: float) -> tuple[float, str | None]:
        """(setpoint to send, why it differs from ``wanted_w`` or None)."""
        p = self.params
        held = math.inf if self.since is None else now - self.since
        if not self.on:
            start = min_w + p.hysteresis_w
            if wanted_w < start:
                return 0.0, (
                    f"{wanted_w:.0f} W below the charger's start {start:.0f} W (minimum "
                    f"{min_w:.0f} W + hysteresis {p.hysteresis_w:.0f} W): stays off"
                )
            if held < p.min_off_s:
                return 0.0, f"charger off for {held:.0f} s (< {p.min_off_s:.0f} s): stays off"
            return wanted_w, None
        if wanted_w >= min_w:
            return wanted_w, None
        if held < p.min_on_s:
            return min_w, (
                f"{wanted_w:.0f} W below the charger's minimum {min_w:.0f} W, but on for only "
                f"{held:.0f} s (< {p.min_on_s:.0f} s): hold the minimum"
            )
        return 0.0, f"{wanted_w:.0f} W below the charger's minimum {min_w:.0f} W: switch off"
