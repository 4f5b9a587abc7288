"""Bit fields of the BIC-2200 (docs/protocol-bic2200.md#bit-fields), as declarative tables.

Bit positions follow the 2024 manual. Notably SYSTEM_STATUS has ADL_ON at bit 4, INITIAL_STATE at
bit 5 and EEPER at bit 6 (some earlier tools read them one bit too low), and EEP_CONFIG in
SYSTEM_CONFIG is bits 8-9 (shift 8, not 7).

Flag names are the meaning of a set bit, so ``True`` is always the condition named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class Severity(Enum):
    FAULT = "fault"  # protection tripped
    ALARM = "alarm"  # warning, unit still runs
    STATUS = "status"  # informational


@dataclass(frozen=True)
class BitFlag:
    name: str  # key in decoded dicts: meaning of a set bit
    bit: int
    manual_name: str
    severity: Severity = Severity.STATUS
    description: str = ""

    @property
    def mask(self) -> int:
        return 1 << self.bit


# fmt: off
FAULT_STATUS_BITS: tuple[BitFlag, ...] = (
    BitFlag("fan_fail", 0, "FAN_FAIL", Severity.FAULT, "fan locked"),
    BitFlag("otp", 1, "OTP", Severity.FAULT, "over-temperature; re-power after cool-down"),
    BitFlag("ovp", 2, "OVP", Severity.FAULT, "DC over-voltage protection; latched until re-power"),
    BitFlag("olp", 3, "OLP", Severity.FAULT, "DC over-current protection; latched until re-power"),
    BitFlag("short", 4, "SHORT", Severity.FAULT, "short-circuit protection; latched"),
    BitFlag("ac_fail", 5, "AC_FAIL", Severity.FAULT, "AC grid out of range; recovers by itself"),
    BitFlag("op_off", 6, "OP_OFF", Severity.STATUS, "DC output is off"),
    BitFlag("hi_temp", 7, "HI_TEMP", Severity.ALARM, "internal temperature high"),
    BitFlag("hv_ovp", 8, "HV_OVP", Severity.FAULT, "HV over-voltage protection"),
)

SYSTEM_STATUS_BITS: tuple[BitFlag, ...] = (
    BitFlag("master", 0, "M/S", description="1 = master, 0 = slave in parallel operation"),
    BitFlag("dc_ok", 1, "DC_OK", description="secondary DC/DC output normal"),
    BitFlag("pfc_ok", 2, "PFC_OK", description="primary PFC on and normal"),
    BitFlag("adl_on", 4, "ADL_ON", description="active dummy load on"),
    BitFlag("ready", 5, "INITIAL_STATE", description="1 = NOT in initialisation"),
    BitFlag("eeprom_error", 6, "EEPER", Severity.FAULT,
            "EEPROM access error; unit shuts down until re-power"),
)
# fmt: on


def decode_bits(table: tuple[BitFlag, ...], raw: int) -> dict[str, bool]:
    return {flag.name: bool(raw & flag.mask) for flag in table}


def encode_bits(table: tuple[BitFlag, ...], flags: dict[str, bool]) -> int:
    known = {flag.name: flag for flag in table}
    unknown = set(flags) - set(known)
    if unknown:
        raise KeyError(f"unknown flags: {sorted(unknown)}")
    return sum(known[name].mask for name, is_set in flags.items() if is_set)


def reserved_bits(table: tuple[BitFlag, ...], raw: int) -> int:
    """Set bits that the table does not define (worth logging: firmware newer than the manual)."""
    defined = sum(flag.mask for flag in table)
    return raw & ~defined & 0xFFFF


def decode_fault_status(raw: int) -> dict[str, bool]:
    return decode_bits(FAULT_STATUS_BITS, raw)


def active_faults(raw: int) -> list[str]:
    """Names of set FAULT_STATUS bits that are faults or alarms (OP_OFF is only a status)."""
    return [
        flag.name
        for flag in FAULT_STATUS_BITS
        if raw & flag.mask and flag.severity is not Severity.STATUS
    ]


def decode_system_status(raw: int) -> dict[str, bool]:
    return decode_bits(SYSTEM_STATUS_BITS, raw)


# Conditions that mean "not operating normally": (flag, state that is a problem, label).
SYSTEM_STATUS_PROBLEMS: tuple[tuple[str, bool, str], ...] = (
    ("eeprom_error", True, "eeprom_error"),
    ("ready", False, "initialising"),
    ("dc_ok", False, "dc_not_ok"),
    ("pfc_ok", False, "pfc_not_ok"),
)


def system_status_problems(raw: int) -> list[str]:
    status = decode_system_status(raw)
    return [label for flag, bad, label in SYSTEM_STATUS_PROBLEMS if status[flag] is bad]


# --- SYSTEM_CONFIG (0x00C2) ---------------------------------------------------------------------


class OperationInit(IntEnum):
    """SYSTEM_CONFIG bits 1-2: OPERATION state at power-up."""

    OFF = 0b00
    ON = 0b01
    PREVIOUS = 0b10
    RESERVED = 0b11


class EepromWriteMode(IntEnum):
    """SYSTEM_CONFIG bits 8-9 (EEP_CONFIG): when changed parameters are saved."""

    IMMEDIATE = 0b00
    AFTER_1_MIN = 0b01
    AFTER_10_MIN = 0b10
    RESERVED = 0b11


CAN_CTRL_BIT = 0
OPERATION_INIT_SHIFT = 1
EEP_CONFIG_SHIFT = 8
EEP_OFF_BIT = 10
SYSTEM_CONFIG_DEFINED_MASK = 0b0000_0111_0000_0111
FACTORY_DEFAULT_SYSTEM_CONFIG = 0x0002


@dataclass(frozen=True)
class SystemConfig:
    can_control: bool = False  # bit 0: 1 = VOUT/IOUT/OPERATION over CAN, 0 = front SVR
    operation_init: OperationInit = OperationInit.ON
    eeprom_write: EepromWriteMode = EepromWriteMode.IMMEDIATE
    eep_off: bool = False  # bit 10: 1 = parameters are not saved (firmware >= ~02/2024)
    reserved: int = 0  # undefined bits as read, kept so read-modify-write preserves them


def decode_system_config(raw: int) -> SystemConfig:
    return SystemConfig(
        can_control=bool(raw >> CAN_CTRL_BIT & 1),
        operation_init=OperationInit(raw >> OPERATION_INIT_SHIFT & 0b11),
        eeprom_write=EepromWriteMode(raw >> EEP_CONFIG_SHIFT & 0b11),
        eep_off=bool(raw >> EEP_OFF_BIT & 1),
        reserved=raw & ~SYSTEM_CONFIG_DEFINED_MASK & 0xFFFF,
    )


def encode_system_config(config: SystemConfig) -> int:
    """Raw SYSTEM_CONFIG word; refuses the reserved field values (never write those)."""
    if config.operation_init is OperationInit.RESERVED:
        raise ValueError("OPERATION_INIT 0b11 is reserved")
    if config.eeprom_write is EepromWriteMode.RESERVED:
        raise ValueError("EEP_CONFIG 0b11 is reserved")
    if config.reserved & (SYSTEM_CONFIG_DEFINED_MASK | ~0xFFFF):
        raise ValueError(f"reserved bits 0x{config.reserved:04X} overlap defined fields")
    return (
        int(config.can_control) << CAN_CTRL_BIT
        | config.operation_init << OPERATION_INIT_SHIFT
        | config.eeprom_write << EEP_CONFIG_SHIFT
        | int(config.eep_off) << EEP_OFF_BIT
        | config.reserved
    )


def system_config_flags(raw: int) -> dict[str, bool | str]:
    """Flat, publishable view of SYSTEM_CONFIG."""
    config = decode_system_config(raw)
    return {
        "can_control": config.can_control,
        "operation_init": config.operation_init.name.lower(),
        "eeprom_write": config.eeprom_write.name.lower(),
        "eep_off": config.eep_off,
    }


# --- BIDIRECTIONAL_CONFIG (0x0140) --------------------------------------------------------------

BATTERY_MODE_BIT = 0


@dataclass(frozen=True)
class BidirectionalConfig:
    battery_mode: bool = False  # bit 0: 1 = battery mode, 0 = auto-detect (factory default)
    reserved: int = 0


def decode_bidirectional_config(raw: int) -> BidirectionalConfig:
    return BidirectionalConfig(
        battery_mode=bool(raw >> BATTERY_MODE_BIT & 1),
        reserved=raw & ~(1 << BATTERY_MODE_BIT) & 0xFFFF,
    )


def encode_bidirectional_config(config: BidirectionalConfig) -> int:
    if config.reserved & ((1 << BATTERY_MODE_BIT) | ~0xFFFF):
        raise ValueError(f"reserved bits 0x{config.reserved:04X} overlap defined fields")
    return int(config.battery_mode) << BATTERY_MODE_BIT | config.reserved


# --- 1-byte enumerations ------------------------------------------------------------------------


class Operation(IntEnum):
    OFF = 0x00
    ON = 0x01


class DirectionCtrl(IntEnum):
    CHARGE = 0x00  # AC -> DC
    DISCHARGE = 0x01  # DC -> AC
