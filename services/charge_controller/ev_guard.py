"""EV awareness: never discharge the home battery while the car charges (pure).

The wallbox power topic (plain number or JSON with ``json_path``, W or scaled) says whether the
car is charging: above ``charging_above_w`` it is. A reading older than ``max_age_s`` (or none)
counts as "not charging" and the reason says so.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.charge_controller.meter_input import extract_value
from services.charge_controller.plausible import WALLBOX_W, within


class EvSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    wallbox_topic: str | None = Field(None, description="wallbox charging power; None = off")
    json_path: str | None = None
    scale: float = Field(1.0, description="to W (1000 for kW)")
    charging_above_w: float = Field(100.0, ge=0, le=50000)
    max_age_s: float = Field(120.0, gt=0, le=86400)
    block_discharge: bool = Field(True, description="never discharge while the car charges")


class EvGuard:
    def __init__(self) -> None:
        self.power_w: float | None = None
        self.time: float | None = None

    def ingest(self, settings: EvSettings, now: float, payload: bytes | bytearray) -> str | None:
        """Store a wallbox reading; returns a reason when the payload had no value."""
        raw = extract_value(payload, settings.json_path)
        power = None if raw is None else within(raw * settings.scale, WALLBOX_W)
        if power is None:
            self.power_w, self.time = None, None
            return "no (plausible) value in wallbox payload"
        self.power_w, self.time = power, now
        return None

    def charging(self, settings: EvSettings, now: float) -> tuple[bool, str]:
        if settings.wallbox_topic is None:
            return False, "EV awareness off"
        if self.power_w is None or self.time is None:
            return False, "no wallbox reading: car assumed not charging"
        if now - self.time > settings.max_age_s:
            return False, "wallbox reading stale: car assumed not charging"
        if self.power_w > settings.charging_above_w:
            return True, f"car charging at {self.power_w:.0f} W"
        return False, f"car not charging ({self.power_w:.0f} W)"
