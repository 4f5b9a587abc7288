"""Winter mode: keep the battery between a min and max SoC with a fixed charge power (pure).

Below ``min_soc_pct`` the battery is charged at ``charge_w`` (from the grid if need be) until it
reaches ``max_soc_pct``; discharging is not allowed at or below ``min_soc_pct``. Above the
minimum the normal zero-export control runs. Forced charging only happens while the BIC
temperature is at least ``min_temperature_c`` (a cold battery must not be charged); without a
temperature reading or without a SoC nothing is forced.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WinterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_soc_pct: float = Field(20.0, ge=0, le=100)
    max_soc_pct: float = Field(50.0, ge=0, le=100)
    charge_w: float = Field(200.0, gt=0, le=50000)
    min_temperature_c: float = Field(10.0, ge=-60, le=100)

    @model_validator(mode="after")
    def _window(self) -> WinterSettings:
        if self.min_soc_pct >= self.max_soc_pct:
            raise ValueError("min_soc_pct must be below max_soc_pct")
        return self


@dataclass(frozen=True)
class WinterAction:
    force_charge_w: float | None  # fixed setpoint to hold, or None for normal control
    allow_discharge: bool
    reason: str


class WinterMode:
    def __init__(self) -> None:
        self.charging = False

    def evaluate(
        self, settings: WinterSettings, soc_pct: float | None, temperature_c: float | None
    ) -> WinterAction:
        if soc_pct is None:
            self.charging = False
            return WinterAction(None, False, "winter: no SoC known, no discharge, nothing forced")
        allow = soc_pct > settings.min_soc_pct
        if soc_pct < settings.min_soc_pct:
            self.charging = True
        elif soc_pct >= settings.max_soc_pct:
            self.charging = False
        if not self.charging:
            state = "above" if allow else "at"
            return WinterAction(
                None, allow, f"winter: SoC {soc_pct:.0f} % {state} min {settings.min_soc_pct:g} %"
            )
        if temperature_c is None or temperature_c < settings.min_temperature_c:
            shown = "unknown" if temperature_c is None else f"{temperature_c:.0f} °C"
            return WinterAction(
                None,
                False,
                f"winter: SoC {soc_pct:.0f} % needs charging but temperature {shown} "
                f"< {settings.min_temperature_c:g} °C",
            )
        return WinterAction(
            settings.charge_w,
            False,
            f"winter: SoC {soc_pct:.0f} % -> charge {settings.charge_w:.0f} W "
            f"until {settings.max_soc_pct:g} %",
        )
