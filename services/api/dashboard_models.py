"""`GET /dashboard/state`'s answer as pydantic models (dashboard_state.py builds it).

Numbers the api reads (``number``) are floats or null; words and names a service published
are passed on as they came (``Any``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.api.response_models import Decision, Health, ResponseModel


class SetupNote(ResponseModel):
    what: Literal["battery", "car", "meter"]
    text: str
    docs: str = Field(description="the page and section of the guide (/guide/...) to read")


class Limits(ResponseModel):
    max_charge_w: float | None
    max_discharge_w: float | None
    profile: Any
    reasons: list[str]


class ControllerCard(ResponseModel):
    configured: Literal[True]
    enabled: bool
    mode: Any = Field(description="auto, hold, manual, winter; off while disabled")
    target_w: float | None
    setpoint_w: float | None
    grid_w: float | None
    battery_w: float | None
    soc_pct: float | None
    soc_source: Any
    meter_ok: Any
    meter_reason: Any
    limits: Limits
    gateway_online: Any
    decisions: list[Decision] = Field(description="the last ten, newest first")
    age_s: float | None


class UnconfiguredController(ResponseModel):
    configured: Literal[False]
    reason: Any
    docs: str
    age_s: float | None


class Fault(ResponseModel):
    name: str
    severity: Any
    words: Any
    count: Any


class Eeprom(ResponseModel):
    writes: float | None
    budget: float | None
    used_pct: float | None
    eep_off: Any


class EnergyToday(ResponseModel):
    charged: float | None = Field(description="kWh since local midnight")
    discharged: float | None = Field(description="kWh since local midnight")


class BatteryCard(ResponseModel):
    unit: str
    model: Any
    online: str | None
    voltage: float | None
    current: float | None
    power_w: float | None
    temperature: float | None
    direction: Any
    faults: list[Fault]
    status: list[str] = Field(description="status flags in words")
    eeprom: Eeprom
    energy_today_kwh: EnergyToday
    age_s: float | None


class VehicleCard(ResponseModel):
    name: str
    soc: float | None
    soh: float | None
    time: Any
    age_s: float | None
    profile: Any
    adapter: str = Field(description="online, offline or unknown: its WiCAN adapter")


class DashboardState(ResponseModel):
    time: str = Field(description="of this answer, ISO 8601")
    health: Health
    setup: list[SetupNote] = Field(description="what is not configured yet")
    controller: ControllerCard | UnconfiguredController | None
    batteries: list[BatteryCard]
    vehicles: list[VehicleCard]
