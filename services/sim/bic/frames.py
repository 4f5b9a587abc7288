"""The simulator's own description of the Mean Well frames: ``meanwell.dbc`` read with cantools.

Written from the BIC-2200 manual, independent of the gateway's codec (issue #13): a mistake in
one is caught by the other. Requests carry the command code little-endian in bytes 0-1; a read is
the code alone, a write adds the register's bytes; replies echo the code (docs/simulators.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cantools

DBC_PATH = Path(__file__).with_name("meanwell.dbc")
ADDRESS_MASK = 0x1FFFFF00  # the low 8 bits of an identifier are the unit address
BROADCAST = 0xFF


@dataclass(frozen=True)
class Register:
    """One command code of a device family, as the DBC describes it."""

    name: str
    code: int
    size: int  # data bytes after the command code
    signed: bool
    scale: float  # engineering unit per raw step
    readable: bool
    writable: bool

    def to_raw(self, value: float) -> int:
        return round(value / self.scale)

    def from_raw(self, raw: int) -> float:
        return round(raw * self.scale, 6)


@dataclass(frozen=True)
class Family:
    """The frames of one device family (BIC-2200 or NPB)."""

    name: str
    request: cantools.database.can.Message
    response: cantools.database.can.Message
    registers: dict[str, Register]

    @property
    def request_base(self) -> int:
        return self.request.frame_id

    @property
    def response_base(self) -> int:
        return self.response.frame_id

    def by_code(self, code: int) -> Register | None:
        return _codes(self.name).get(code)


@dataclass(frozen=True)
class Request:
    """A decoded request: ``address`` None for a broadcast, ``raw`` None for a read."""

    address: int | None
    register: Register
    raw: int | None

    @property
    def is_write(self) -> bool:
        return self.raw is not None


class FrameProblem(ValueError):
    """A request the unit cannot act on; ``kind`` names the protocol violation."""

    def __init__(self, kind: str, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.code = code


@cache
def database() -> cantools.database.can.Database:
    db = cantools.database.load_file(DBC_PATH, frame_id_mask=ADDRESS_MASK)
    assert isinstance(db, cantools.database.can.Database)  # a .dbc file holds a CAN database
    return db


def _data_signals(message: cantools.database.can.Message) -> dict[int, cantools.database.Signal]:
    return {
        ids[0]: signal
        for signal in message.signals
        if (ids := signal.multiplexer_ids) and len(ids) == 1
    }


@cache
def family(name: str) -> Family:
    """``BIC`` or ``NPB``."""
    db = database()
    request = db.get_message_by_name(f"{name}_REQUEST")
    response = db.get_message_by_name(f"{name}_RESPONSE")
    writes, reads = _data_signals(request), _data_signals(response)
    registers = {}
    for code in sorted(set(writes) | set(reads)):
        signal = reads.get(code) or writes[code]
        registers[signal.name] = Register(
            name=signal.name,
            code=code,
            size=(signal.start + signal.length - 16) // 8,
            signed=signal.is_signed,
            scale=float(signal.scale),
            readable=code in reads,
            writable=code in writes,
        )
    return Family(name, request, response, registers)


@cache
def _codes(name: str) -> dict[int, Register]:
    return {r.code: r for r in family(name).registers.values()}


def address_of(arbitration_id: int) -> int:
    return arbitration_id & 0xFF


def parse_request(fam: Family, arbitration_id: int, data: bytes) -> Request:
    """The request in ``data``; FrameProblem for what the unit cannot act on."""
    if arbitration_id & ADDRESS_MASK != fam.request_base:
        raise FrameProblem("foreign_frame", f"identifier {arbitration_id:08X} is not a request")
    address = address_of(arbitration_id)
    if len(data) < 2:
        raise FrameProblem("malformed", f"{len(data)} data bytes: no command code")
    code = int.from_bytes(data[:2], "little")
    register = fam.by_code(code)
    if register is None:
        raise FrameProblem("unknown_command", f"command 0x{code:04X} is not in the manual", code)
    target = None if address == BROADCAST else address
    if len(data) == 2:
        if not register.readable:
            raise FrameProblem("malformed", f"{register.name} cannot be read", code)
        return Request(target, register, None)
    if not register.writable:
        raise FrameProblem("read_only", f"write to read-only {register.name}", code)
    if len(data) != 2 + register.size:
        raise FrameProblem(
            "malformed",
            f"{register.name} write with {len(data) - 2} data bytes (needs {register.size})",
            code,
        )
    decoded = fam.request.decode_simple(
        data, decode_choices=False, scaling=False, allow_truncated=True
    )
    raw = decoded[register.name]
    assert isinstance(raw, int | float)  # without choices and scaling: the raw number
    return Request(target, register, int(raw))


def encode_reply(fam: Family, address: int, register: Register, raw: int) -> tuple[int, bytes]:
    """(arbitration id, data) of the unit's answer to a read of ``register``."""
    data = fam.response.encode(
        {"COMMAND": register.code, register.name: raw}, scaling=False, strict=False
    )
    return fam.response_base + address, bytes(data[: 2 + register.size])


def text_raw(text: str, size: int) -> int:
    """An ASCII field as the integer its signal carries (first character in the lowest byte)."""
    return int.from_bytes(text.encode("ascii").ljust(size, b" ")[:size], "little")
