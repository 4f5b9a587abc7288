"""Configuration of the BIC-2200 simulator (config-file section ``sim-bic``).

Every key can be set by environment too: ``CANBRIDGE_MODEL=NPB-1200-24``,
``CANBRIDGE_CAN__CHANNEL=239.74.163.2``, ``CANBRIDGE_LOST_REPLY_RATE=0.01``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import can
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.settings import ServiceSettings

from . import frames
from .models import MODELS
from .timing import TimingRules


class SimCanSettings(BaseModel):
    """The bus the simulated units answer on (``can.Bus(interface=..., channel=...)``)."""

    model_config = ConfigDict(extra="forbid")

    interface: Literal["udp_multicast", "virtual", "socketcan"] = "udp_multicast"
    channel: str = "239.74.163.2"  # udp_multicast group, virtual channel or socketcan interface
    port: int = Field(43113, ge=1, le=65535)  # udp_multicast only
    #: extra keyword arguments passed to can.Bus unchanged
    options: dict[str, Any] = Field(default_factory=dict)

    def open(self, accept_base: int) -> can.BusABC:
        """The bus, receiving only requests of one family (udp_multicast loops our own replies
        back to us: the filter keeps them out)."""
        kwargs: dict[str, Any] = {"interface": self.interface, "channel": self.channel}
        if self.interface == "udp_multicast":
            kwargs["port"] = self.port
        kwargs.update(self.options)
        flt = {"can_id": accept_base, "can_mask": frames.ADDRESS_MASK, "extended": True}
        return can.Bus(**kwargs, can_filters=[flt])


class SimBicSettings(ServiceSettings):
    section: ClassVar[str] = "sim-bic"

    units: list[int] = Field(default_factory=lambda: [0])
    #: BIC-2200-12/24/48/96 or NPB-450/750/1200/1700-12/24/48
    model: str = "BIC-2200-48"
    can: SimCanSettings = SimCanSettings()
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
    #: reply delay drawn from [reply_min_s, reply_max_s]; the manual promises <= 5 ms
    reply_min_s: float = Field(0.001, ge=0, le=1)
    reply_max_s: float = Field(0.004, ge=0, le=1)
    #: share of replies never sent (0..1), drawn from a generator seeded with `seed`
    lost_reply_rate: float = Field(0.0, ge=0, le=1)
    seed: int = 0
    #: forgiven when checking the 20 ms request period and the 5 ms margin after a reply
    timing_tolerance_s: float = Field(0.001, ge=0, le=0.02)
    step_s: float = Field(0.1, gt=0, le=5)
    publish_interval_s: float = Field(1.0, gt=0)

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"must be one of {', '.join(MODELS)}")
        return v

    @field_validator("units")
    @classmethod
    def _addresses(cls, v: list[int]) -> list[int]:
        if not v or any(not 0 <= a <= 63 for a in v) or len(set(v)) != len(v):
            raise ValueError("one or more distinct addresses 0..63")
        return v

    @model_validator(mode="after")
    def _delays(self) -> SimBicSettings:
        if self.reply_min_s > self.reply_max_s:
            raise ValueError("reply_min_s must not exceed reply_max_s")
        return self

    def timing(self) -> TimingRules:
        return TimingRules(
            reply_min_s=self.reply_min_s,
            reply_max_s=self.reply_max_s,
            lost_reply_rate=self.lost_reply_rate,
            tolerance_s=self.timing_tolerance_s,
            seed=self.seed,
        )
