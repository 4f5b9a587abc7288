"""BIC-2200 and NPB register tables, as data.

Source: the Mean Well BIC-2200 manual's CAN protocol (command set, setpoint ranges, battery
mode, read-back ranges). Each register is one frozen ``Register`` record; the
codec, flag decoder, limits and wear logic all read their facts from here.

Scaling: numeric registers name the SCALING_FACTOR field that scales them (``scale``); the
documented factor for each field lives in ``codec.DOCUMENTED_SCALING``.

Ranges are keyed by the model's nominal battery voltage (12/24/48/96). For writable registers they
are the *battery mode* setpoint ranges (the only mode the gateway controls in); for
measurements they are the documented read-back ranges, useful for plausibility checks only.

``REGISTERS`` is the BIC-2200 command set. The NPB chargers share most of it (same codes, sizes and
meaning) and add the charge-curve registers of ``NPB_CURVE_REGISTERS`` (codes 0x00B0-0x00B9, which
the BIC does not use); which family has which register is ``families.py``. NPB ranges depend on
the wattage too, so they live with the NPB models (``npb_models.py``), not in these records.
Lookups (``resolve``) know both tables: the codes never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NOMINAL_VOLTAGES: tuple[int, ...] = (12, 24, 48, 96)


class Kind(Enum):
    """How the data bytes of a register are interpreted."""

    NUMBER = "number"  # little-endian integer times a scaling factor
    CHOICE = "choice"  # 1-byte enumeration (OPERATION, DIRECTION_CTRL)
    BITS = "bits"  # little-endian bit field, decoded by flags.py
    ASCII = "ascii"  # text chunk (MFR_* strings)
    REVISION = "revision"  # one byte per MCU, value/10 = revision
    SCALING = "scaling"  # SCALING_FACTOR nibble codes


class ScaleField(Enum):
    """The SCALING_FACTOR field that scales a numeric register.

    docs/protocol-bic2200.md#scaling
    """

    VOUT = "vout"  # all DC-voltage registers
    IOUT = "iout"  # all DC-current registers
    VIN = "vin"  # READ_VIN
    FAN = "fan"  # READ_FAN_SPEED_1/2
    TEMPERATURE = "temperature"  # READ_TEMPERATURE_1


class Persistence(Enum):
    """Whether writes to a register end up in the unit's EEPROM.

    docs/protocol-bic2200.md#what-is-stored
    """

    NONE = "none"  # not stored (read-only)
    EEP = "eep"  # starred in the manual: stored according to EEP_OFF / EEP_CONFIG
    ALWAYS = "always"  # restored by factory reset, not covered by EEP_OFF
    #: writable but not stored: neither starred nor in the factory-reset list (DIRECTION_CTRL);
    #: docs/bic2200.md "Which writes wear the EEPROM" gives the evidence
    VOLATILE = "volatile"


@dataclass(frozen=True)
class ValueRange:
    """Documented range in engineering units (inclusive), with the documented default if any."""

    minimum: float
    maximum: float
    default: float | None = None

    def contains(self, value: float) -> bool:
        return self.minimum <= value <= self.maximum


@dataclass(frozen=True)
class Register:
    name: str
    code: int
    size: int  # data bytes after the 2-byte command code
    kind: Kind
    readable: bool = True
    writable: bool = False
    signed: bool = False
    unit: str = ""
    scale: ScaleField | None = None
    persistence: Persistence = Persistence.NONE
    # (nominal battery voltage, range) pairs; see module docstring.
    ranges: tuple[tuple[int, ValueRange], ...] = ()
    # (raw value, meaning) pairs for Kind.CHOICE registers.
    choices: tuple[tuple[int, str], ...] = ()
    description: str = ""

    def range_for(self, nominal_voltage: int) -> ValueRange | None:
        return dict(self.ranges).get(nominal_voltage)

    @property
    def choice_names(self) -> dict[int, str]:
        return dict(self.choices)


def _per_model(
    v12: ValueRange, v24: ValueRange, v48: ValueRange, v96: ValueRange
) -> tuple[tuple[int, ValueRange], ...]:
    return tuple(zip(NOMINAL_VOLTAGES, (v12, v24, v48, v96), strict=True))


def _all_models(value_range: ValueRange) -> tuple[tuple[int, ValueRange], ...]:
    return tuple((nominal, value_range) for nominal in NOMINAL_VOLTAGES)


_R = ValueRange

# fmt: off
REGISTERS: tuple[Register, ...] = (
    Register(
        "OPERATION", 0x0000, 1, Kind.CHOICE, writable=True, persistence=Persistence.ALWAYS,
        choices=((0x00, "off"), (0x01, "on")),
        description="DC output on/off; persisted (factory-reset list) but not covered by EEP_OFF",
    ),
    Register(
        "VOUT_SET", 0x0020, 2, Kind.NUMBER, writable=True, unit="V", scale=ScaleField.VOUT,
        persistence=Persistence.EEP,
        ranges=_per_model(_R(10, 15, 12.6), _R(19, 28, 25.2), _R(38, 65, 50.4), _R(76, 112, 100.8)),
        description="charge (AC->DC) target voltage",
    ),
    Register(
        "IOUT_SET", 0x0030, 2, Kind.NUMBER, writable=True, unit="A", scale=ScaleField.IOUT,
        persistence=Persistence.EEP,
        ranges=_per_model(_R(1.8, 180, 160), _R(0.9, 90, 80), _R(0.45, 45, 40), _R(0.25, 22.5, 20)),
        description="charge current limit",
    ),
    Register("FAULT_STATUS", 0x0040, 2, Kind.BITS, description="fault bit field"),
    Register(
        "READ_VIN", 0x0050, 2, Kind.NUMBER, unit="V", scale=ScaleField.VIN,
        ranges=_all_models(_R(180, 264)),
        description="AC grid voltage",
    ),
    Register(
        "READ_VOUT", 0x0060, 2, Kind.NUMBER, unit="V", scale=ScaleField.VOUT,
        # The manual says 0-56 V for the 48 V model although its setpoints go to 65 V; we use the
        # setpoint maximum (the 56 V figure is very likely a typo,
        # docs/protocol-bic2200.md#read-back-ranges).
        ranges=_per_model(_R(0, 15), _R(0, 28), _R(0, 65), _R(0, 112)),
        description="DC (battery) voltage",
    ),
    Register(
        "READ_IOUT", 0x0061, 2, Kind.NUMBER, signed=True, unit="A", scale=ScaleField.IOUT,
        ranges=_per_model(_R(-180, 216), _R(-90, 108), _R(-45, 54), _R(-22.5, 27)),
        description="DC current, negative while discharging (DC->AC)",
    ),
    Register(
        "READ_TEMPERATURE_1", 0x0062, 2, Kind.NUMBER, signed=True, unit="°C",
        scale=ScaleField.TEMPERATURE, ranges=_all_models(_R(-40, 110)),
        description="internal ambient temperature",
    ),
    Register(
        "READ_FAN_SPEED_1", 0x0070, 2, Kind.NUMBER, unit="rpm", scale=ScaleField.FAN,
        ranges=_all_models(_R(0, 25000)), description="fan 1 speed (newer firmware only)",
    ),
    Register(
        "READ_FAN_SPEED_2", 0x0071, 2, Kind.NUMBER, unit="rpm", scale=ScaleField.FAN,
        ranges=_all_models(_R(0, 25000)), description="fan 2 speed (newer firmware only)",
    ),
    Register("MFR_ID_B0B5", 0x0080, 6, Kind.ASCII, description="manufacturer name chars 0-5"),
    Register("MFR_ID_B6B11", 0x0081, 6, Kind.ASCII, description="manufacturer name chars 6-11"),
    Register("MFR_MODEL_B0B5", 0x0082, 6, Kind.ASCII, description="model name chars 0-5"),
    Register("MFR_MODEL_B6B11", 0x0083, 6, Kind.ASCII, description="model name chars 6-11"),
    Register(
        "MFR_REVISION_B0B5", 0x0084, 6, Kind.REVISION,
        description="firmware revision, one byte per MCU (0xFF = no MCU)",
    ),
    # MFR_LOCATION/DATE/SERIAL are marked R/W in places; we treat them as read-only.
    Register("MFR_LOCATION_B0B2", 0x0085, 3, Kind.ASCII, description="factory location"),
    Register("MFR_DATE_B0B5", 0x0086, 6, Kind.ASCII, description="manufacture date YYMMDD"),
    Register("MFR_SERIAL_B0B5", 0x0087, 6, Kind.ASCII, description="serial part 1 (YYMMDD)"),
    Register("MFR_SERIAL_B6B11", 0x0088, 6, Kind.ASCII, description="serial part 2"),
    # The manual's table says 2 data bytes; on the wire the response carries 6 (DLC 8).
    Register("SCALING_FACTOR", 0x00C0, 6, Kind.SCALING, description="factor code per quantity"),
    Register("SYSTEM_STATUS", 0x00C1, 2, Kind.BITS, description="system status bit field"),
    Register(
        "SYSTEM_CONFIG", 0x00C2, 2, Kind.BITS, writable=True, persistence=Persistence.ALWAYS,
        description="CAN control, power-up state, EEPROM write mode",
    ),
    Register(
        "DIRECTION_CTRL", 0x0100, 1, Kind.CHOICE, writable=True,
        persistence=Persistence.VOLATILE, choices=((0x00, "charge"), (0x01, "discharge")),
        description="battery mode direction: 0 = AC->DC charge, 1 = DC->AC discharge",
    ),
    Register(
        "REVERSE_VOUT_SET", 0x0120, 2, Kind.NUMBER, writable=True, unit="V",
        scale=ScaleField.VOUT, persistence=Persistence.EEP,
        ranges=_per_model(_R(10, 15, 10), _R(19, 28, 19), _R(38, 65, 38), _R(76, 112, 76)),
        description="discharge (DC->AC) cut-off voltage",
    ),
    Register(
        "REVERSE_IOUT_SET", 0x0130, 2, Kind.NUMBER, writable=True, unit="A",
        scale=ScaleField.IOUT, persistence=Persistence.EEP,
        ranges=_per_model(
            _R(1.8, 153, 120), _R(0.9, 76.5, 64.3), _R(0.45, 38.3, 32.2), _R(0.25, 19.1, 16.1)
        ),
        description="discharge current limit, written as a positive magnitude",
    ),
    Register(
        "BIDIRECTIONAL_CONFIG", 0x0140, 2, Kind.BITS, writable=True,
        persistence=Persistence.ALWAYS,
        description="bit 0: 0 = auto-detect, 1 = battery mode; effective after re-power",
    ),
)
# fmt: on

# NPB charge-curve registers (docs/protocol-bic2200.md#npb-differences). Ranges: npb_models.py.
# fmt: off
NPB_CURVE_REGISTERS: tuple[Register, ...] = (
    Register(
        "CURVE_CC", 0x00B0, 2, Kind.NUMBER, writable=True, unit="A", scale=ScaleField.IOUT,
        persistence=Persistence.EEP, description="charger mode: constant-current (bulk) current",
    ),
    Register(
        "CURVE_CV", 0x00B1, 2, Kind.NUMBER, writable=True, unit="V", scale=ScaleField.VOUT,
        persistence=Persistence.EEP, description="charger mode: constant-voltage (boost) voltage",
    ),
    Register(
        "CURVE_FV", 0x00B2, 2, Kind.NUMBER, writable=True, unit="V", scale=ScaleField.VOUT,
        persistence=Persistence.EEP, description="charger mode: float voltage (not above CV)",
    ),
    Register(
        "CURVE_TC", 0x00B3, 2, Kind.NUMBER, writable=True, unit="A", scale=ScaleField.IOUT,
        persistence=Persistence.EEP, description="charger mode: taper current (CV -> float)",
    ),
    Register(
        "CURVE_CONFIG", 0x00B4, 2, Kind.BITS, writable=True, persistence=Persistence.EEP,
        description="curve selection, temperature compensation, CUVE (bit 7: 1 = charger "
        "mode, 0 = power-supply mode), time-out enables, restart enable",
    ),
    Register(
        "CURVE_CC_TIMEOUT", 0x00B5, 2, Kind.NUMBER, writable=True, unit="min",
        persistence=Persistence.EEP, description="charger mode: constant-current stage time-out",
    ),
    Register(
        "CURVE_CV_TIMEOUT", 0x00B6, 2, Kind.NUMBER, writable=True, unit="min",
        persistence=Persistence.EEP, description="charger mode: constant-voltage stage time-out",
    ),
    Register(
        "CURVE_FV_TIMEOUT", 0x00B7, 2, Kind.NUMBER, writable=True, unit="min",
        persistence=Persistence.EEP, description="charger mode: float stage time-out",
    ),
    Register("CHG_STATUS", 0x00B8, 2, Kind.BITS, description="charger status bit field"),
    Register(
        "CHG_RST_VBAT", 0x00B9, 2, Kind.NUMBER, writable=True, unit="V", scale=ScaleField.VOUT,
        persistence=Persistence.EEP,
        description="charger mode: battery voltage that restarts charging after full",
    ),
)
# fmt: on

KNOWN_REGISTERS: tuple[Register, ...] = REGISTERS + NPB_CURVE_REGISTERS
BY_NAME: dict[str, Register] = {reg.name: reg for reg in KNOWN_REGISTERS}
BY_CODE: dict[int, Register] = {reg.code: reg for reg in KNOWN_REGISTERS}

RegisterRef = Register | str | int


class UnknownRegister(KeyError):
    """Raised for a register name or command code in neither the BIC-2200 nor the NPB set."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def by_name(name: str) -> Register:
    try:
        return BY_NAME[name.upper()]
    except KeyError:
        raise UnknownRegister(f"unknown BIC-2200/NPB register name {name!r}") from None


def by_code(code: int) -> Register:
    try:
        return BY_CODE[code]
    except KeyError:
        raise UnknownRegister(f"unknown BIC-2200/NPB command code 0x{code:04X}") from None


def resolve(ref: RegisterRef) -> Register:
    """Accept a Register, a register name or a command code."""
    if isinstance(ref, Register):
        return ref
    if isinstance(ref, str):
        return by_name(ref)
    if isinstance(ref, int) and not isinstance(ref, bool):
        return by_code(ref)
    raise TypeError(f"expected a Register, name or command code, got {ref!r}")
