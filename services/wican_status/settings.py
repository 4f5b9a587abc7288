"""wican-status settings: the vehicle list (shared with wican-soc) and retry timing."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from services.wican_soc.vehicles import FleetSettings


class WicanStatusSettings(FleetSettings):
    section: ClassVar[str] = "wican-status"

    #: no decoded answer within this time = the request failed
    answer_timeout_s: float = Field(3.0, gt=0, le=120)
    #: first retry after a failure; doubles per failure up to retry_max_s
    retry_initial_s: float = Field(5.0, gt=0, le=3600)
    retry_max_s: float = Field(300.0, gt=0, le=86400)
    #: never two requests to one car closer together than this
    min_gap_s: float = Field(1.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _retry_order(self) -> WicanStatusSettings:
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be at least retry_initial_s")
        return self
