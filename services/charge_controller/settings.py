"""Settings of the charge controller (config-file section ``charge-controller``).

Everything in ``ControllerConfig`` (mode, control, battery, temperature, schedule, winter, ev,
switches) can also be changed at runtime over MQTT; the meter and gateway topics need a restart.
Environment: ``CANBRIDGE_MODE=hold``, ``CANBRIDGE_CONTROL__TARGET_W=20``,
``CANBRIDGE_METER='{"sources":[{"topic":"tele/meter/SENSOR","json_path":"SML.Power_curr"}]}'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from services.charge_controller.controller_config import ControllerConfig
from services.charge_controller.gateway_link import GatewaySettings
from services.charge_controller.meter_input import MeterConfig, MeterSource
from shared.ha_discovery import HomeAssistantSettings
from shared.settings import ServiceSettings

#: matches the meter simulator's defaults (services.sim.meter)
DEFAULT_METER = MeterConfig(
    sources=[MeterSource(topic="sim/meter/SENSOR", json_path="SML.Power_curr")]
)


# pydantic merges both bases' model_config (the settings' env prefix, the config's
# extra="forbid"); mypy only sees two different TypedDicts for one name
class ChargeControllerSettings(ServiceSettings, ControllerConfig):  # type: ignore[misc]
    section: ClassVar[str] = "charge-controller"

    #: null: no meter configured, the controller only reports that (unconfigured.py)
    meter: MeterConfig | None = DEFAULT_METER
    gateway: GatewaySettings = GatewaySettings()
    tick_s: float = Field(1.0, gt=0, le=10, description="period of the supervisory check")
    state_interval_s: float = Field(
        10.0, gt=0, le=3600, description="state is re-published at least this often"
    )
    #: Home Assistant device discovery (restart to change)
    homeassistant: HomeAssistantSettings = HomeAssistantSettings()
    #: runtime changes (MQTT set/..., PATCH /config/controller) are kept here and re-applied at
    #: start-up over the config file and environment; null: kept in memory only
    runtime_state_file: Path | None = Path("/data/charge-controller-runtime.json")
