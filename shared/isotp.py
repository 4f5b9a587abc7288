"""ISO-TP (ISO 15765-2) for classic 8-byte CAN, normal addressing, without any I/O.

`IsoTpReceiver` reassembles a reply and tells its caller when to send Flow Control;
`segment` and `IsoTpSender` cut a payload into frames (used by the WiCAN simulator).
The UDS helpers at the end check positive and negative responses.
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


def flow_control_frame(
    status: int = FLOW_CONTINUE,
    block_size: int = 0,
    st_min: int = 0,
    pad_byte: int | None = 0x00,
) -> bytes:
    """Build a Flow Control frame; `pad_byte=None` sends the 3 bytes only."""
    if status not in (FLOW_CONTINUE, FLOW_WAIT, FLOW_OVERFLOW):
        raise ValueError(f"flow status {status} is not 0, 1 or 2")
    _check_byte("block size", block_size)
    _check_st_min(st_min)
    frame = bytes([(PCI_FLOW_CONTROL << 4) | status, block_size, st_min])
    return _pad(frame, pad_byte)


def _pad(frame: bytes, pad_byte: int | None) -> bytes:
    if pad_byte is None:
        return frame
    return frame + bytes([pad_byte]) * (FRAME_SIZE - len(frame))


class IsoTpReceiver:
    """Reassembles one ISO-TP reply stream from frames of `response_id`.

    `feed` every received frame (other ids are ignored); call `poll` now and then so a
    stalled transfer is dropped after `n_cr_timeout` seconds. `now` is any monotonic clock.
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
    ) -> None:
        _check_byte("fc_block_size", fc_block_size)
        _check_byte("fc_pad_byte", fc_pad_byte)
        _check_st_min(fc_st_min)
        if n_cr_timeout <= 0:
            raise ValueError("n_cr_timeout must be positive")
        self.response_id = response_id
        self.extended = extended
        self.block_size = fc_block_size
        self.n_cr_timeout = n_cr_timeout
        self.flow_control = flow_control_frame(
            FLOW_CONTINUE, fc_block_size, fc_st_min, fc_pad_byte if fc_pad else None
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
        if length > 7:
            return [TransferError(f"single frame length {length} exceeds 7")]
        if length > len(data) - 1:
            return [
                TransferError(f"single frame length {length} but only {len(data) - 1} data bytes")
            ]
        return [*self._interrupt("single frame"), Message(bytes(data[1 : 1 + length]))]

    def _first(self, data: bytes, now: float) -> list[Event]:
        if len(data) != FRAME_SIZE:
            return [TransferError(f"first frame has {len(data)} bytes, needs 8")]
        length = ((data[0] & 0x0F) << 8) | data[1]
        if length == 0:
            return [TransferError("first frame with escape length 0 (>4095 bytes) not supported")]
        if length <= 7:
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
        needed = min(7, remaining)
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


def segment(payload: bytes, pad_byte: int | None = 0xAA) -> list[bytes]:
    """Cut `payload` into a Single Frame or a First Frame plus Consecutive Frames.

    Every frame is padded to 8 bytes with `pad_byte`; `None` leaves the last frame short.
    """
    if not payload:
        raise IsoTpError("cannot send an empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise IsoTpError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if pad_byte is not None:
        _check_byte("pad_byte", pad_byte)
    if len(payload) <= 7:
        return [_pad(bytes([len(payload)]) + payload, pad_byte)]
    frames = [bytes([(PCI_FIRST << 4) | (len(payload) >> 8), len(payload) & 0xFF]) + payload[:6]]
    sn = 1
    for start in range(6, len(payload), 7):
        frames.append(
            _pad(bytes([(PCI_CONSECUTIVE << 4) | sn]) + payload[start : start + 7], pad_byte)
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
    """Sends one payload: `first_frame()`, then `on_flow_control(fc)` for each FC received."""

    def __init__(self, payload: bytes, pad_byte: int | None = 0xAA, max_wait: int = 10) -> None:
        self._frames = segment(payload, pad_byte)
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
