"""wican-soc settings: the vehicle list (shared with wican-status) and ISO-TP timing."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.wican_soc.vehicles import FleetSettings
from shared.ha_discovery import HomeAssistantSettings


class WicanSocSettings(FleetSettings):
    section: ClassVar[str] = "wican-soc"

    #: ISO 15765-2 N_Cr: drop a multi-frame reply when no consecutive frame came for this long
    n_cr_timeout_s: float = Field(1.0, gt=0, le=30)
    #: Home Assistant device discovery (one device per vehicle)
    homeassistant: HomeAssistantSettings = HomeAssistantSettings()
