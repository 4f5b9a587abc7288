"""Bit fields only the NPB chargers have, as declarative tables.

docs/protocol-bic2200.md#npb-differences

CURVE_CONFIG (0x00B4): bits 0-1 curve selection (0 = customised curve, 1-3 = preset selected by
DIP), bits 2-3 temperature compensation (off, -3, -4, -5 mV/°C/cell), bit 5 go to float after a
CV time-out, bit 6 two-stage curve, **bit 7 CUVE: 1 = charger (curve) mode, 0 = power-supply
mode**, bits 8-10 the stage time-out enables (sources disagree on their order, so the gateway
reports the three bits as they are), bit 11 restart at CHG_RST_VBAT. Bit 4 and bits 12-15 are
reserved and preserved on every write.

CHG_STATUS (0x00B8): stage flags and charger faults (names are the meaning of a set bit).
"""

from __future__ import annotations

from dataclasses import dataclass

from .flags import BitFlag, Severity, decode_bits

CUVS_MASK = 0b11
TCS_SHIFT = 2
CVTSSE_BIT = 5
STGS_BIT = 6
CUVE_BIT = 7
TIMEOUT_ENABLE_SHIFT = 8
RSTE_BIT = 11
CURVE_CONFIG_DEFINED_MASK = 0x0FEF  # bits 0-3 and 5-11
TEMPERATURE_COMPENSATION_MV = {0b00: 0, 0b01: -3, 0b10: -4, 0b11: -5}
FACTORY_DEFAULT_CURVE_CONFIG = 0x0084  # charger mode, -3 mV/°C/cell (observed)

# fmt: off
CHG_STATUS_BITS: tuple[BitFlag, ...] = (
    BitFlag("full", 0, "FULLM", description="fully charged"),
    BitFlag("constant_current", 1, "CCM", description="constant-current stage"),
    BitFlag("constant_voltage", 2, "CVM", description="constant-voltage stage"),
    BitFlag("float", 3, "FVM", description="float stage"),
    BitFlag("waking_up", 6, "WAKEUP_STOP", description="battery wake-up not finished"),
    BitFlag("ntc_short", 10, "NTCER", Severity.FAULT,
            "temperature-compensation sensor shorted"),
    BitFlag("no_battery", 11, "BTNC", Severity.ALARM, "no battery detected"),
    BitFlag("cc_timeout", 13, "CCTOF", Severity.ALARM, "constant-current stage timed out"),
    BitFlag("cv_timeout", 14, "CVTOF", Severity.ALARM, "constant-voltage stage timed out"),
    BitFlag("fv_timeout", 15, "FVTOF", Severity.ALARM, "float stage timed out"),
)
# fmt: on


def decode_charge_status(raw: int) -> dict[str, bool]:
    return decode_bits(CHG_STATUS_BITS, raw)


def charge_status_problems(raw: int) -> list[str]:
    return [f.name for f in CHG_STATUS_BITS if raw & f.mask and f.severity is not Severity.STATUS]


@dataclass(frozen=True)
class CurveConfig:
    curve: int  # 0 = customised (CURVE_* registers), 1-3 = preset chosen by DIP switch
    temperature_compensation_mv: int  # per °C and cell: 0, -3, -4, -5
    float_after_cv_timeout: bool
    two_stage: bool
    charger_mode: bool  # CUVE: False = power-supply mode (VOUT_SET/IOUT_SET act at once)
    timeout_enable_bits: int  # bits 8-10 as read (their order is disputed)
    restart_enabled: bool
    reserved: int


def decode_curve_config(raw: int) -> CurveConfig:
    return CurveConfig(
        curve=raw & CUVS_MASK,
        temperature_compensation_mv=TEMPERATURE_COMPENSATION_MV[raw >> TCS_SHIFT & 0b11],
        float_after_cv_timeout=bool(raw >> CVTSSE_BIT & 1),
        two_stage=bool(raw >> STGS_BIT & 1),
        charger_mode=bool(raw >> CUVE_BIT & 1),
        timeout_enable_bits=raw >> TIMEOUT_ENABLE_SHIFT & 0b111,
        restart_enabled=bool(raw >> RSTE_BIT & 1),
        reserved=raw & ~CURVE_CONFIG_DEFINED_MASK & 0xFFFF,
    )


def with_charger_mode(raw: int, charger_mode: bool) -> int:
    """The word with CUVE set or cleared, every other bit as it was."""
    return raw | 1 << CUVE_BIT if charger_mode else raw & ~(1 << CUVE_BIT) & 0xFFFF


def curve_config_flags(raw: int) -> dict[str, object]:
    """Flat, publishable view of CURVE_CONFIG."""
    config = decode_curve_config(raw)
    return {
        "charger_mode": config.charger_mode,
        "curve": "custom" if config.curve == 0 else f"preset {config.curve}",
        "temperature_compensation_mv": config.temperature_compensation_mv,
        "two_stage": config.two_stage,
        "float_after_cv_timeout": config.float_after_cv_timeout,
        "timeout_enable_bits": config.timeout_enable_bits,
        "restart_enabled": config.restart_enabled,
    }
