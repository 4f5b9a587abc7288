"""What the controller reads from and writes to the BIC-2200 gateway (pure; docs/bic2200.md).

* reads the retained ``<base>/bic/<unit>/state`` JSON: ``ac_power`` (W, + charging; the
  gateway's estimate from DC power and its efficiency), ``voltage`` (battery V),
  ``temperature`` (BIC °C);
* reads ``<base>/bic/<unit>/availability`` (``online``/``offline``);
* reads the retained ``<base>/bic/<unit>/info``: whether the unit is charge-only (an NPB) and its
  minimum charge current (``charge_only.parse_info``);
* writes ``<base>/bic/<unit>/set/power``: signed **DC** watts (+ charge). The controller works
  in AC watts (what the meter sees), so setpoints are converted with ``efficiency`` (the same
  value as the gateway's ``battery.efficiency``, and the same conversion pair,
  ``shared.contract.efficiency``, so that a setpoint and the ``ac_power`` the gateway reports
  for it agree).

The topics are ``shared.contract.topics``' unit topics (settings may rename them).

The gateway idles the unit when no setpoint arrives for its watchdog timeout (30 s) or when
``<base>/charge-controller/status`` goes ``offline``; the adapter re-sends the current setpoint
every ``keepalive_s``.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.charge_controller.meter_input import parse_number
from services.charge_controller.plausible import BATTERY_AC_W, BATTERY_V, TEMPERATURE_C, within
from services.charge_controller.supervisor import BatteryReading
from shared.contract.efficiency import dc_from_ac
from shared.contract.payloads import SetPower
from shared.contract.topics import SET_POWER, unit_template
from shared.mqtt_client import decode_json, encode_json


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: int = Field(0, ge=0, le=63, description="CAN address of the BIC-2200 or NPB")
    state_topic: str = unit_template("state")
    availability_topic: str = unit_template("availability")
    info_topic: str = unit_template("info")
    setpoint_topic: str = unit_template(f"set/{SET_POWER}")
    efficiency: float = Field(
        0.93, gt=0.5, le=1.0, description="DC<->AC, = bic-gateway battery.efficiency"
    )
    keepalive_s: float = Field(
        10.0, gt=0, le=300, description="re-send the setpoint (gateway watchdog is 30 s)"
    )
    command_expiry_s: int = Field(10, ge=1, le=3600, description="MQTT v5 message expiry")

    def topic(self, template: str, base: str) -> str:
        return template.replace("{base}", base).replace("{unit}", str(self.unit))


def setpoint_payload(ac_w: float, efficiency: float, now_epoch: float | None = None) -> bytes:
    """JSON for ``set/power``: DC watts, and the send time so a late command can be dropped."""
    stamp = time.time() if now_epoch is None else now_epoch
    body = SetPower(value=round(dc_from_ac(ac_w, efficiency), 1), ts=round(stamp, 3))
    return encode_json(body.model_dump())


def parse_state(payload: bytes | bytearray) -> BatteryReading | None:
    """The fields the controller uses from a gateway ``state`` payload (None if unusable)."""
    try:
        data: Any = decode_json(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return BatteryReading(  # a field outside its plausible range is "not known"
        ac_w=within(parse_number(data.get("ac_power")), BATTERY_AC_W),
        voltage_v=within(parse_number(data.get("voltage")), BATTERY_V),
        temperature_c=within(parse_number(data.get("temperature")), TEMPERATURE_C),
    )
