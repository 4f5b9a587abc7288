"""Pure encode/decode of BIC-2200 CAN frames (docs/protocol-bic2200.md#frame-layout).

Frames use 29-bit extended identifiers. Payload bytes 0-1 are the command code, low byte first;
data bytes follow, little-endian. Reads are DLC 2; responses echo the command code followed by the
register's data bytes. The unit never answers writes.

Physical <-> raw conversion: ``raw = value / factor`` rounded to the nearest integer with ties going
away from zero (``decimal.ROUND_HALF_UP``), computed in decimal arithmetic from the shortest
``repr`` of the float so that 30.0 V -> 3000 and 0.455 A -> 46 exactly. Decoded values are
``raw * factor`` computed in decimal and returned as float (so 129 * 0.1 is 12.9, not
12.900000000000002).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from .registers import Kind, Register, RegisterRef, ScaleField, UnknownRegister, resolve

STANDARD_MAX_ADDRESS = 7  # DIP switches A0-A2
MAX_ADDRESS = 63  # extended addressing A0-A5 (2024 manual)


class FrameError(ValueError):
    """A frame that is not a valid answer to what we asked."""


class NotAResponse(FrameError):
    """Arbitration id is not a unit->controller id of this device family."""


class EchoMismatch(FrameError):
    """The echoed command code (or the sender address) is not the one that was requested."""


class BadLength(FrameError):
    """The payload length does not match the register's documented size."""


@dataclass(frozen=True)
class IdScheme:
    """Arbitration id bases of one device family.

    docs/protocol-bic2200.md#identifiers-and-addresses
    """

    family: str
    request_base: int  # controller -> unit, + address
    response_base: int  # unit -> controller, + address
    broadcast_id: int  # controller -> all units

    def request_id(self, address: int) -> int:
        return self.request_base + _check_address(address)

    def response_id(self, address: int) -> int:
        return self.response_base + _check_address(address)

    def address_of_response(self, arbitration_id: int) -> int:
        address = arbitration_id - self.response_base
        if not 0 <= address <= MAX_ADDRESS:
            raise NotAResponse(
                f"id 0x{arbitration_id:08X} is not a {self.family} unit->controller id "
                f"(0x{self.response_base:08X}+0..{MAX_ADDRESS})"
            )
        return address

    def address_of_request(self, arbitration_id: int) -> int | None:
        """Address a request is sent to, None for broadcast; raises FrameError otherwise."""
        if arbitration_id == self.broadcast_id:
            return None
        address = arbitration_id - self.request_base
        if not 0 <= address <= MAX_ADDRESS:
            raise FrameError(f"id 0x{arbitration_id:08X} is not a {self.family} request id")
        return address


BIC_IDS = IdScheme("BIC-2200", 0x000C0300, 0x000C0200, 0x000C03FF)
# The NPB chargers share the framing; their register set is families.NPB.
NPB_IDS = IdScheme("NPB", 0x000C0100, 0x000C0000, 0x000C01FF)


def _check_address(address: int) -> int:
    if isinstance(address, bool) or not isinstance(address, int):
        raise TypeError(f"address must be an int, got {address!r}")
    if not 0 <= address <= MAX_ADDRESS:
        raise ValueError(f"address {address} out of range 0..{MAX_ADDRESS}")
    return address


# --- SCALING_FACTOR -----------------------------------------------------------------------------

# Factor codes (docs/protocol-bic2200.md#scaling): 0x4..0x9 = 10^(code-7); 0x0 = not supported;
# others invalid.
FACTOR_CODES: dict[int, Decimal] = {code: Decimal(10) ** (code - 7) for code in range(4, 10)}

# (data byte, high nibble?) of each field inside the SCALING_FACTOR response data.
SCALING_LAYOUT: dict[ScaleField, tuple[int, bool]] = {
    ScaleField.VOUT: (0, False),
    ScaleField.IOUT: (0, True),
    ScaleField.VIN: (1, False),
    ScaleField.FAN: (1, True),
    ScaleField.TEMPERATURE: (2, False),
}


@dataclass(frozen=True)
class ScalingFactors:
    """Factor per SCALING_FACTOR field; None = the unit reports the quantity as unsupported."""

    vout: Decimal | None
    iout: Decimal | None
    vin: Decimal | None
    fan: Decimal | None
    temperature: Decimal | None

    def factor(self, scale: ScaleField) -> Decimal | None:
        factor: Decimal | None = getattr(self, scale.value)  # one of the fields above
        return factor

    def differences(self, other: ScalingFactors) -> list[str]:
        return [
            f"{f.name}: {getattr(self, f.name)} vs {getattr(other, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


# The documented fixed factors (docs/protocol-bic2200.md#scaling).
DOCUMENTED_SCALING = ScalingFactors(
    vout=Decimal("0.01"),
    iout=Decimal("0.01"),
    vin=Decimal("0.1"),
    fan=Decimal("1"),
    temperature=Decimal("0.1"),
)


def parse_scaling(data: bytes) -> ScalingFactors:
    """Parse the 6 data bytes of a SCALING_FACTOR response (without the command code)."""
    if len(data) < 3:
        raise BadLength(f"SCALING_FACTOR needs at least 3 data bytes, got {len(data)}")
    values: dict[str, Decimal | None] = {}
    for scale, (index, high) in SCALING_LAYOUT.items():
        code = data[index] >> 4 if high else data[index] & 0x0F
        values[scale.value] = FACTOR_CODES.get(code)
    return ScalingFactors(**values)


def resolve_scaling(data: bytes | None) -> tuple[ScalingFactors, list[str]]:
    """Factors to use for conversion, plus warnings for the caller to log.

    ``data`` is the SCALING_FACTOR response data, or None when the read failed. Policy:
    * read failed or unparsable -> the documented factors;
    * a field reported unsupported (code 0) or invalid -> the documented factor for that field;
    * a field that differs from the documented factor -> the unit's factor is used (the manual
      says the same factor applies to reading and writing), with a warning.
    """
    if data is None:
        return DOCUMENTED_SCALING, ["SCALING_FACTOR read failed; using documented factors"]
    try:
        advertised = parse_scaling(data)
    except BadLength as exc:
        return DOCUMENTED_SCALING, [f"{exc}; using documented factors"]
    warnings: list[str] = []
    resolved: dict[str, Decimal | None] = {}
    for scale in ScaleField:
        documented = DOCUMENTED_SCALING.factor(scale)
        reported = advertised.factor(scale)
        if reported is None:
            warnings.append(f"{scale.value}: unit reports no valid factor; using {documented}")
            resolved[scale.value] = documented
        else:
            if reported != documented:
                warnings.append(f"{scale.value}: unit factor {reported} != documented {documented}")
            resolved[scale.value] = reported
    return ScalingFactors(**resolved), warnings


# --- physical <-> raw ---------------------------------------------------------------------------


def _factor(register: Register, scaling: ScalingFactors) -> Decimal:
    if register.kind is not Kind.NUMBER:
        raise TypeError(f"{register.name} is not a numeric register")
    if register.scale is None:
        return Decimal(1)  # a plain count (the NPB's curve time-outs, in minutes)
    factor = scaling.factor(register.scale)
    if factor is None:
        raise ValueError(f"no factor known for {register.name} ({register.scale.value})")
    return factor


def raw_bounds(register: Register) -> tuple[int, int]:
    """Smallest and largest raw integer representable in the register's data bytes."""
    bits = 8 * register.size
    if register.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def to_raw(ref: RegisterRef, value: float, scaling: ScalingFactors = DOCUMENTED_SCALING) -> int:
    """Engineering value -> raw integer (rounded half away from zero, see module docstring)."""
    register = resolve(ref)
    factor = _factor(register, scaling)
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{register.name}: not a finite number: {value!r}")
    raw = int((Decimal(repr(value)) / factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    low, high = raw_bounds(register)
    if not low <= raw <= high:
        raise ValueError(f"{register.name}: {value} {register.unit} does not fit the register")
    return raw


def from_raw(ref: RegisterRef, raw: int, scaling: ScalingFactors = DOCUMENTED_SCALING) -> float:
    register = resolve(ref)
    return float(Decimal(raw) * _factor(register, scaling))


def quantise(ref: RegisterRef, value: float, scaling: ScalingFactors = DOCUMENTED_SCALING) -> float:
    """The value the unit will actually hold after writing ``value`` (round trip through raw)."""
    return from_raw(ref, to_raw(ref, value, scaling), scaling)


# --- frames -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One CAN frame; always an extended (29-bit) id."""

    arbitration_id: int
    data: bytes

    def __str__(self) -> str:  # candump style, handy in logs and tests
        return f"{self.arbitration_id:08X} [{len(self.data)}] {self.data.hex(' ').upper()}"


def _code_bytes(register: Register) -> bytes:
    return register.code.to_bytes(2, "little")


def encode_read(ref: RegisterRef) -> bytes:
    """Payload of a read request (DLC 2)."""
    register = resolve(ref)
    if not register.readable:
        raise ValueError(f"{register.name} is not readable")
    return _code_bytes(register)


def encode_write(ref: RegisterRef, raw: int) -> bytes:
    """Payload of a write: command code + raw value little-endian in the register's size."""
    register = resolve(ref)
    if not register.writable:
        raise ValueError(f"{register.name} is read-only")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"{register.name}: raw value must be an int, got {raw!r}")
    low, high = raw_bounds(register)
    if not low <= raw <= high:
        raise ValueError(f"{register.name}: raw {raw} outside {low}..{high}")
    data = raw.to_bytes(register.size, "little", signed=register.signed)
    return _code_bytes(register) + data


def read_request(address: int, ref: RegisterRef, ids: IdScheme = BIC_IDS) -> Frame:
    return Frame(ids.request_id(address), encode_read(ref))


def write_request(address: int, ref: RegisterRef, raw: int, ids: IdScheme = BIC_IDS) -> Frame:
    return Frame(ids.request_id(address), encode_write(ref, raw))


def broadcast_write(ref: RegisterRef, raw: int, ids: IdScheme = BIC_IDS) -> Frame:
    """Write to every unit on the bus (no replies). Broadcast reads are undocumented."""
    return Frame(ids.broadcast_id, encode_write(ref, raw))


@dataclass(frozen=True)
class Request:
    """A decoded controller->unit frame (for logs and the simulator)."""

    address: int | None  # None = broadcast
    register: Register
    raw: bytes | None  # None for a read, the data bytes for a write

    @property
    def is_write(self) -> bool:
        return self.raw is not None


Value = float | int | str | bytes | ScalingFactors


@dataclass(frozen=True)
class Response:
    address: int
    code: int
    raw: bytes  # the data bytes after the echoed command code
    value: Value

    @property
    def register(self) -> Register:
        return resolve(self.code)

    @property
    def raw_int(self) -> int:
        """Data bytes as a little-endian integer (signed for signed registers)."""
        return int.from_bytes(self.raw, "little", signed=self.register.signed)


def _split(data: bytes) -> tuple[Register, bytes]:
    if len(data) < 2:
        raise BadLength(f"payload of {len(data)} bytes has no command code")
    code = int.from_bytes(data[:2], "little")
    try:
        register = resolve(code)
    except UnknownRegister as exc:
        raise FrameError(str(exc)) from None
    return register, bytes(data[2:])


def decode_request(arbitration_id: int, data: bytes, ids: IdScheme = BIC_IDS) -> Request:
    address = ids.address_of_request(arbitration_id)
    register, payload = _split(data)
    if not payload:
        return Request(address, register, None)
    if len(payload) != register.size:
        raise BadLength(f"{register.name} write carries {len(payload)} bytes, not {register.size}")
    if not register.writable:
        raise FrameError(f"write to read-only {register.name}")
    return Request(address, register, payload)


def decode_value(register: Register, raw: bytes, scaling: ScalingFactors) -> Value:
    """Engineering value of a register's data bytes."""
    match register.kind:
        case Kind.NUMBER:
            number = int.from_bytes(raw, "little", signed=register.signed)
            return from_raw(register, number, scaling)
        case Kind.CHOICE | Kind.BITS:
            return int.from_bytes(raw, "little")
        case Kind.ASCII:
            return raw.decode("ascii", errors="replace")
        case Kind.SCALING:
            return parse_scaling(raw)
        case Kind.REVISION:
            return raw  # models.decode_revisions() turns this into revision strings
    raise AssertionError(f"unhandled kind {register.kind}")  # pragma: no cover


def decode_response(
    arbitration_id: int,
    data: bytes,
    *,
    expect_code: int | None = None,
    expect_address: int | None = None,
    scaling: ScalingFactors = DOCUMENTED_SCALING,
    ids: IdScheme = BIC_IDS,
) -> Response:
    """Decode a unit->controller frame.

    Raises NotAResponse for an id outside the family's response range, EchoMismatch when the echoed
    command code or the sender differ from ``expect_code`` / ``expect_address`` (a stale or
    out-of-order frame is never attributed to the register that was asked for), FrameError for an
    unknown code and BadLength when the DLC does not match the register size.
    """
    address = ids.address_of_response(arbitration_id)
    if expect_address is not None and address != expect_address:
        raise EchoMismatch(f"response from address {address}, expected {expect_address}")
    if len(data) >= 2 and expect_code is not None:
        echoed = int.from_bytes(data[:2], "little")
        if echoed != expect_code:
            raise EchoMismatch(f"echoed command 0x{echoed:04X}, expected 0x{expect_code:04X}")
    register, payload = _split(data)
    if len(payload) != register.size:
        raise BadLength(
            f"{register.name} response carries {len(payload)} data bytes, expected {register.size}"
        )
    return Response(address, register.code, payload, decode_value(register, payload, scaling))
