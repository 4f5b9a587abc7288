"""ISO-TP (ISO 15765-2) for classic 8-byte CAN, normal or extended addressing, without I/O.

`IsoTpReceiver` reassembles a reply and tells its caller when to send Flow Control;
`segment` and `IsoTpSender` cut a payload into frames (used by the WiCAN simulator).
The UDS helpers at the end check positive and negative responses.

Extended addressing (ISO 15765-2 "extended", used by BMW i3 / Mini SE): every frame of
both directions starts with a target-address byte, so the PCI moves to byte 1 and each
frame carries one payload byte less (Single Frame <= 6 bytes, First Frame 5, Consecutive
Frame 6). A request to the ECU carries the ECU's address (e.g. 0x07); its reply, and the
reply's Flow Control in the other direction, carry the tester's (0xF1) and the ECU's.
Pass `address=None` (the default) for normal addressing.

The frame types, Flow Control, STmin and timeouts as canbridge uses them:
docs/protocol-wican-isotp.md#iso-tp-frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_PAYLOAD = 4095  # 12-bit First Frame length; the 32-bit escape is not supported
FRAME_SIZE = 8

PCI_SINGLE = 0x0
PCI_FIRST = 0x1
PCI_CONSECUTIVE = 0x2
PCI_FLOW_CONTROL = 0x3

FLOW_CONTINUE = 0
FLOW_WAIT = 1
FLOW_OVERFLOW = 2


class IsoTpError(ValueError):
    """A frame or parameter that breaks ISO 15765-2 (raised by the sender side)."""


@dataclass(frozen=True)
class SendFlowControl:
    """Send `data` to the request id now: a First Frame (or a full block) arrived."""

    data: bytes


@dataclass(frozen=True)
class Message:
    """A complete ISO-TP payload."""

    payload: bytes


@dataclass(frozen=True)
class TransferError:
    """A frame was rejected or an incomplete transfer was dropped."""

    reason: str


Event = SendFlowControl | Message | TransferError


def decode_st_min(value: int) -> float:
    """STmin byte -> seconds. 0x00..0x7F are ms, 0xF1..0xF9 are 100..900 us.

    Reserved values (0x80..0xF0, 0xFA..0xFF) count as 0x7F (127 ms), as ISO 15765-2 asks.
    """
    if not 0 <= value <= 0xFF:
        raise IsoTpError(f"STmin 0x{value:X} is not a byte")
    if value <= 0x7F:
        return value / 1000.0
    if 0xF1 <= value <= 0xF9:
        return (value - 0xF0) / 10000.0
    return 0x7F / 1000.0


def _check_st_min(value: int) -> None:
    if not (0 <= value <= 0x7F or 0xF1 <= value <= 0xF9):
        raise ValueError(f"STmin 0x{value:X} is reserved (use 0x00..0x7F or 0xF1..0xF9)")


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} {value} is not a byte (0..255)")


def _prefix(address: int | None) -> bytes:
    """The address byte that starts every frame under extended addressing (else nothing)."""
    if address is None:
        return b""
    _check_byte("address", address)
    return bytes([address])


def flow_control_frame(
    status: int = FLOW_CONTINUE,
    block_size: int = 0,
    st_min: int = 0,
    pad_byte: int | None = 0x00,
    address: int | None = None,
) -> bytes:
    """Build a Flow Control frame; `pad_byte=None` sends the 3 bytes (4 with an address) only.

    `address` is the target-address byte of extended addressing (the ECU's address).
    """
    if status not in (FLOW_CONTINUE, FLOW_WAIT, FLOW_OVERFLOW):
        raise ValueError(f"flow status {status} is not 0, 1 or 2")
    _check_byte("block size", block_size)
    _check_st_min(st_min)
    frame = _prefix(address) + bytes([(PCI_FLOW_CONTROL << 4) | status, block_size, st_min])
    return _pad(frame, pad_byte)


def _pad(frame: bytes, pad_byte: int | None) -> bytes:
    if pad_byte is None:
        return frame
    return frame + bytes([pad_byte]) * (FRAME_SIZE - len(frame))


class IsoTpReceiver:
    """Reassembles one ISO-TP reply stream from frames of `response_id`.

    `feed` every received frame (other ids are ignored); call `poll` now and then so a
    stalled transfer is dropped after `n_cr_timeout` seconds. `now` is any monotonic clock.

    Extended addressing: `address` is the byte every reply frame must start with (the
    tester's address, e.g. 0xF1; frames for another address are ignored) and
    `fc_address` the byte our Flow Control starts with (the ECU's address, e.g. 0x07).
    """

    def __init__(
        self,
        response_id: int,
        extended: bool,
        fc_block_size: int = 0,
        fc_st_min: int = 0,
        fc_pad: bool = True,
        n_cr_timeout: float = 1.0,
        fc_pad_byte: int = 0x00,
        address: int | None = None,
        fc_address: int | None = None,
    ) -> None:
        if (address is None) != (fc_address is None):
            raise ValueError("extended addressing needs both address and fc_address")
        _check_byte("fc_block_size", fc_block_size)
        _check_byte("fc_pad_byte", fc_pad_byte)
        _check_st_min(fc_st_min)
        if n_cr_timeout <= 0:
            raise ValueError("n_cr_timeout must be positive")
        self.response_id = response_id
        self.extended = extended
        self.block_size = fc_block_size
        self.n_cr_timeout = n_cr_timeout
        if address is not None:
            _check_byte("address", address)
        self.address = address
        #: payload bytes a Single Frame / Consecutive Frame can carry (7, or 6 with an address)
        self._room = 7 if address is None else 6
        self.flow_control = flow_control_frame(
            FLOW_CONTINUE,
            fc_block_size,
            fc_st_min,
            fc_pad_byte if fc_pad else None,
            fc_address,
        )
        self._buffer = bytearray()
        self._expected = 0
        self._next_sn = 1
        self._in_block = 0
        self._last = 0.0
        self._active = False

    @property
    def in_progress(self) -> bool:
        """True between a First Frame and the end (or loss) of its transfer."""
        return self._active

    def reset(self) -> None:
        """Forget any transfer in progress."""
        self._active = False
        self._buffer = bytearray()

    def poll(self, now: float) -> list[Event]:
        """Drop the transfer in progress when no frame came for `n_cr_timeout`."""
        if self._active and now - self._last > self.n_cr_timeout:
            received = len(self._buffer)
            self.reset()
            return [
                TransferError(
                    f"timeout: no consecutive frame for more than {self.n_cr_timeout:g} s; "
                    f"dropped transfer after {received} of {self._expected} bytes"
                )
            ]
        return []

    def feed(self, can_id: int, extended: bool, data: bytes, now: float) -> list[Event]:
        """Process one received frame; returns what the caller must do or know."""
        if can_id != self.response_id or extended != self.extended:
            return []
        if self.address is not None:
            if not data or data[0] != self.address:
                return []  # another target's frame (or no address byte): not ours
            data = data[1:]
        events = self.poll(now)
        if not data:
            return [*events, TransferError("empty frame (no PCI byte)")]
        kind = data[0] >> 4
        if kind == PCI_SINGLE:
            events += self._single(data)
        elif kind == PCI_FIRST:
            events += self._first(data, now)
        elif kind == PCI_CONSECUTIVE:
            events += self._consecutive(data, now)
        elif kind == PCI_FLOW_CONTROL:
            pass  # Flow Control travels towards a sender; we only receive.
        else:
            events.append(TransferError(f"bad PCI type 0x{kind:X} in frame {data.hex(' ')}"))
        return events

    def _interrupt(self, by: str) -> list[Event]:
        if not self._active:
            return []
        received = len(self._buffer)
        self.reset()
        return [
            TransferError(
                f"{by} interrupted a transfer at {received} of {self._expected} bytes; dropped"
            )
        ]

    def _single(self, data: bytes) -> list[Event]:
        length = data[0] & 0x0F
        if length == 0:
            return [TransferError("single frame with escape length 0 (CAN FD) is not supported")]
        if length > self._room:
            return [TransferError(f"single frame length {length} exceeds {self._room}")]
        if length > len(data) - 1:
            return [
                TransferError(f"single frame length {length} but only {len(data) - 1} data bytes")
            ]
        return [*self._interrupt("single frame"), Message(bytes(data[1 : 1 + length]))]

    def _first(self, data: bytes, now: float) -> list[Event]:
        if len(data) != self._room + 1:
            size = FRAME_SIZE - self._room - 1 + len(data)
            return [TransferError(f"first frame has {size} bytes, needs 8")]
        length = ((data[0] & 0x0F) << 8) | data[1]
        if length == 0:
            return [TransferError("first frame with escape length 0 (>4095 bytes) not supported")]
        if length <= self._room:
            return [TransferError(f"first frame length {length} fits a single frame")]
        events = self._interrupt("first frame")
        self._active = True
        self._expected = length
        self._buffer = bytearray(data[2:])
        self._next_sn = 1
        self._in_block = 0
        self._last = now
        events.append(SendFlowControl(self.flow_control))
        return events

    def _consecutive(self, data: bytes, now: float) -> list[Event]:
        sn = data[0] & 0x0F
        if not self._active:
            return [TransferError(f"consecutive frame (SN {sn}) without a first frame")]
        if sn != self._next_sn:
            expected, received = self._next_sn, len(self._buffer)
            self.reset()
            return [
                TransferError(
                    f"sequence mismatch: expected SN {expected}, got {sn}; "
                    f"dropped transfer after {received} of {self._expected} bytes"
                )
            ]
        remaining = self._expected - len(self._buffer)
        needed = min(self._room, remaining)
        if len(data) - 1 < needed:
            self.reset()
            return [
                TransferError(
                    f"consecutive frame SN {sn} carries {len(data) - 1} bytes, needs {needed}"
                )
            ]
        self._buffer += data[1 : 1 + needed]
        self._next_sn = (sn + 1) & 0x0F
        self._last = now
        if len(self._buffer) == self._expected:
            payload = bytes(self._buffer)
            self.reset()
            return [Message(payload)]
        if self.block_size:
            self._in_block += 1
            if self._in_block == self.block_size:
                self._in_block = 0
                return [SendFlowControl(self.flow_control)]
        return []


def segment(payload: bytes, pad_byte: int | None = 0xAA, address: int | None = None) -> list[bytes]:
    """Cut `payload` into a Single Frame or a First Frame plus Consecutive Frames.

    Every frame is padded to 8 bytes with `pad_byte`; `None` leaves the last frame short.
    `address` (extended addressing) is put before the PCI of every frame.
    """
    if not payload:
        raise IsoTpError("cannot send an empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise IsoTpError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if pad_byte is not None:
        _check_byte("pad_byte", pad_byte)
    head = _prefix(address)
    room = FRAME_SIZE - len(head) - 1  # payload bytes of a Single or Consecutive Frame
    if len(payload) <= room:
        return [_pad(head + bytes([len(payload)]) + payload, pad_byte)]
    first = room - 1
    pci = bytes([(PCI_FIRST << 4) | (len(payload) >> 8), len(payload) & 0xFF])
    frames = [head + pci + payload[:first]]
    sn = 1
    for start in range(first, len(payload), room):
        frames.append(
            _pad(
                head + bytes([(PCI_CONSECUTIVE << 4) | sn]) + payload[start : start + room],
                pad_byte,
            )
        )
        sn = (sn + 1) & 0x0F
    return frames


@dataclass(frozen=True)
class SendBlock:
    """What a sender does after one Flow Control frame.

    status "continue": send `frames`, waiting `st_min` seconds before each one after the
    first; if not `done`, wait for the next Flow Control. "wait": send nothing and wait for
    another Flow Control. "overflow": the receiver refused; the transfer is aborted.
    """

    status: Literal["continue", "wait", "overflow"]
    frames: tuple[bytes, ...] = ()
    st_min: float = 0.0
    done: bool = False


class IsoTpSender:
    """Sends one payload: `first_frame()`, then `on_flow_control(fc)` for each FC received.

    Extended addressing: `address` starts every frame sent (the receiver's address) and
    `fc_address` must start every Flow Control received (our own address).
    """

    def __init__(
        self,
        payload: bytes,
        pad_byte: int | None = 0xAA,
        max_wait: int = 10,
        address: int | None = None,
        fc_address: int | None = None,
    ) -> None:
        if (address is None) != (fc_address is None):
            raise ValueError("extended addressing needs both address and fc_address")
        if fc_address is not None:
            _check_byte("fc_address", fc_address)
        self.fc_address = fc_address
        self._frames = segment(payload, pad_byte, address)
        self._next = 0
        self._waits = 0
        self.max_wait = max_wait
        self.aborted = False

    @property
    def done(self) -> bool:
        """True when every frame has been handed out."""
        return self._next >= len(self._frames)

    def first_frame(self) -> bytes:
        """The Single Frame or First Frame to send first."""
        if self._next:
            raise IsoTpError("first frame already taken")
        self._next = 1
        return self._frames[0]

    def on_flow_control(self, data: bytes) -> SendBlock:
        """Interpret a Flow Control frame and return the next block of Consecutive Frames."""
        if self.aborted:
            raise IsoTpError("transfer was aborted")
        if self._next == 0:
            raise IsoTpError("flow control before the first frame was sent")
        if self.done:
            raise IsoTpError("flow control after the last frame (unexpected)")
        if self.fc_address is not None:
            if not data or data[0] != self.fc_address:
                got = f"0x{data[0]:02X}" if data else "nothing"
                raise IsoTpError(
                    f"flow control for address {got}, expected 0x{self.fc_address:02X}"
                )
            data = data[1:]
        if len(data) < 3 or data[0] >> 4 != PCI_FLOW_CONTROL:
            raise IsoTpError(f"not a flow control frame: {data.hex(' ')}")
        status, block_size, st_min = data[0] & 0x0F, data[1], data[2]
        if status == FLOW_OVERFLOW:
            self.aborted = True
            return SendBlock("overflow")
        if status == FLOW_WAIT:
            self._waits += 1
            if self._waits > self.max_wait:
                self.aborted = True
                raise IsoTpError(f"more than {self.max_wait} flow control WAIT frames")
            return SendBlock("wait")
        if status != FLOW_CONTINUE:
            self.aborted = True
            raise IsoTpError(f"invalid flow status {status}")
        self._waits = 0
        end = len(self._frames) if block_size == 0 else self._next + block_size
        block = tuple(self._frames[self._next : end])
        self._next += len(block)
        return SendBlock("continue", block, decode_st_min(st_min), self.done)


# --- UDS (ISO 14229) response checks -------------------------------------------------

NEGATIVE_RESPONSE_SID = 0x7F
NRC_RESPONSE_PENDING = 0x78

NRC_NAMES = {
    0x10: "generalReject",
    0x11: "serviceNotSupported",
    0x12: "subFunctionNotSupported",
    0x13: "incorrectMessageLengthOrInvalidFormat",
    0x14: "responseTooLong",
    0x21: "busyRepeatRequest",
    0x22: "conditionsNotCorrect",
    0x24: "requestSequenceError",
    0x31: "requestOutOfRange",
    0x33: "securityAccessDenied",
    0x78: "requestCorrectlyReceivedResponsePending",
    0x7E: "subFunctionNotSupportedInActiveSession",
    0x7F: "serviceNotSupportedInActiveSession",
}


def is_negative_response(payload: bytes) -> bool:
    """True for `7F <sid> <nrc>`."""
    return len(payload) >= 3 and payload[0] == NEGATIVE_RESPONSE_SID


def nrc_name(code: int) -> str:
    """Name of a negative response code, e.g. 0x31 -> requestOutOfRange."""
    return NRC_NAMES.get(code, f"unknownNRC(0x{code:02X})")


def is_positive_response(payload: bytes, request: bytes) -> bool:
    """True when `payload` starts with request SID + 0x40 and echoes the request's identifier.

    The identifier is everything after the SID (1 byte for `21 xx` and `01 xx`, 2 for `22 xx xx`).
    """
    if not request or request[0] + 0x40 > 0xFF:
        return False
    echo = request[1:]
    return (
        len(payload) >= len(request)
        and payload[0] == request[0] + 0x40
        and payload[1 : len(request)] == echo
    )
