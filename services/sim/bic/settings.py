"""Configuration of the BIC-2200 simulator (config-file section ``sim-bic``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from services.bic_gateway.models import MODELS
from services.bic_gateway.settings import CanSettings
from shared.settings import ServiceSettings


class SimBicSettings(ServiceSettings):
    section: ClassVar[str] = "sim-bic"

    units: list[int] = Field(default_factory=lambda: [0])
    model: str = "BIC-2200-48"
    can: CanSettings = CanSettings(interface="udp_multicast")
    soc: float = Field(0.5, ge=0, le=1)
    capacity_wh: float = Field(5120.0, gt=0)
    dead_time_s: float = Field(0.5, ge=0)
    time_constant_s: float = Field(1.0, ge=0)
    provisioned: bool = True  # CAN control + battery mode + EEP_OFF already set up
    eep_off_supported: bool = True  # firmware >= ~02/2024
    fans_supported: bool = True
    #: SYSTEM_CONFIG word at power-up instead of the one `provisioned` implies (e.g. 0x0205 for
    #: an EEPROM delay mode, 0x0002 for SVR mode)
    system_config: int | None = Field(None, ge=0, le=0xFFFF)
    step_s: float = Field(0.1, gt=0, le=5)
    publish_interval_s: float = Field(1.0, gt=0)

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"must be one of {', '.join(MODELS)}")
        return v
