"""Device models (BIC-2200 and NPB) and the manufacturer-data registers.

Facts: docs/protocol-bic2200.md#registers, docs/protocol-bic2200.md#setpoint-ranges,
docs/protocol-bic2200.md#power-envelope and docs/npb.md#models-and-ranges.

BIC setpoint ranges are not repeated here: ``DeviceModel.setpoint_range`` reads them from the
register table, keyed by the model's nominal voltage. NPB ranges depend on the wattage too: an NPB
model carries its own (``ranges``, built in ``npb_models.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .registers import RegisterRef, ValueRange, resolve

SETPOINT_REGISTERS: tuple[str, ...] = (
    "VOUT_SET",
    "IOUT_SET",
    "REVERSE_VOUT_SET",
    "REVERSE_IOUT_SET",
)

# In battery mode, with the setpoint voltage on the wrong side of the battery voltage, the unit
# drives 5 % of rated current against the requested direction
# (docs/protocol-bic2200.md#direction-control).
REVERSE_TRICKLE_FRACTION = 0.05


class UnknownModel(ValueError):
    """MFR_MODEL does not name a supported BIC-2200 or NPB variant."""


@dataclass(frozen=True)
class DeviceModel:
    name: str
    nominal_voltage: int
    rated_current_a: float  # AC->DC rated current
    family: str = "BIC-2200"  # families.Family.name
    #: per-model ranges (register name, range); when given they replace the register table's
    ranges: tuple[tuple[str, ValueRange], ...] = ()
    has_vin: bool = True  # answers READ_VIN (NPB-450/750 do not)

    @property
    def bidirectional(self) -> bool:
        return self.family == "BIC-2200"

    def _range(self, ref: RegisterRef) -> ValueRange | None:
        register = resolve(ref)
        if self.ranges:
            return dict(self.ranges).get(register.name)
        return register.range_for(self.nominal_voltage)

    def setpoint_range(self, ref: RegisterRef) -> ValueRange:
        register = resolve(ref)
        value_range = self._range(register)
        if not register.writable or value_range is None:
            raise KeyError(f"{register.name} has no documented setpoint range on {self.name}")
        return value_range

    def measurement_range(self, ref: RegisterRef) -> ValueRange | None:
        return self._range(ref)

    @property
    def setpoint_registers(self) -> tuple[str, ...]:
        """The numeric setpoints this model has a range for (for `info`)."""
        if self.ranges:
            names = [name for name, _ in self.ranges]
            return tuple(name for name in names if resolve(name).writable)
        return SETPOINT_REGISTERS

    @property
    def reverse_trickle_a(self) -> float:
        """Wrong-way current in battery mode (BIC only; a charger cannot discharge)."""
        return self.rated_current_a * REVERSE_TRICKLE_FRACTION if self.bidirectional else 0.0


MODELS: dict[str, DeviceModel] = {
    model.name: model
    for model in (
        DeviceModel("BIC-2200-12", 12, 180.0),
        DeviceModel("BIC-2200-24", 24, 90.0),
        DeviceModel("BIC-2200-48", 48, 45.0),
        DeviceModel("BIC-2200-96", 96, 22.5),
    )
}

_PADDING = " \x00"


def identify(mfr_model: str) -> DeviceModel:
    """Model from the MFR_MODEL string (both 6-byte halves joined, e.g. ``"BIC-2200-24 "`` or
    ``"NPB-1200-48"``).

    Trailing spaces/NULs and surrounding whitespace are ignored, case is not. Anything else that is
    not exactly one of ``MODELS`` or the NPB models raises ``UnknownModel`` (a variant we have no
    ranges for must not be driven with guessed limits).
    """
    from .npb_models import NPB_MODELS  # the NPB table builds on DeviceModel (this module)

    normalised = mfr_model.strip(_PADDING + "\t\r\n").upper()
    model = MODELS.get(normalised) or NPB_MODELS.get(normalised)
    if model is None:
        raise UnknownModel(
            f"unsupported device model {mfr_model!r}; supported: {', '.join(MODELS)}, "
            "NPB-450/750/1200/1700-12/24/48"
        )
    return model


# --- manufacturer data --------------------------------------------------------------------------


def decode_text(*chunks: bytes) -> str:
    """Join MFR_* register chunks and drop the space/NUL padding; non-ASCII bytes become U+FFFD."""
    return b"".join(chunks).decode("ascii", errors="replace").rstrip(_PADDING)


def decode_manufacturer(b0b5: bytes, b6b11: bytes) -> str:
    return decode_text(b0b5, b6b11)


def decode_model_name(b0b5: bytes, b6b11: bytes) -> str:
    return decode_text(b0b5, b6b11)


def decode_location(b0b2: bytes) -> str:
    return decode_text(b0b2)


def decode_serial(b0b5: bytes, b6b11: bytes) -> str:
    return decode_text(b0b5, b6b11)


NO_MCU = 0xFF


def decode_revisions(raw: bytes) -> tuple[str | None, ...]:
    """MFR_REVISION: one byte per MCU, value/10 is the revision (0xFE -> "R25.4"); 0xFF = no MCU."""
    return tuple(None if byte == NO_MCU else f"R{byte // 10:02d}.{byte % 10}" for byte in raw)


_DATE = re.compile(r"(\d{2})(\d{2})(\d{2})")


def decode_date(raw: bytes) -> date:
    """MFR_DATE (ASCII YYMMDD) -> date; years are taken as 20YY."""
    text = decode_text(raw)
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"manufacture date {text!r} is not YYMMDD")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(2000 + year, month, day)
    except ValueError as exc:
        raise ValueError(f"manufacture date {text!r} is not a valid date: {exc}") from None
