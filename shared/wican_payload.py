"""WiCAN MQTT payloads: parse `can/rx`, build `can/tx` messages (the status message is read by
`shared.contract.status.parse_status`, like every other status).

The format: docs/protocol-wican-isotp.md#the-canrx-and-cantx-payloads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.payload_limits import decode_json, echo

MAX_STD_ID = 0x7FF
MAX_EXT_ID = 0x1FFFFFFF


@dataclass(frozen=True)
class CanFrame:
    """One classic CAN frame; `extended` marks a 29-bit id."""

    id: int
    extended: bool
    data: bytes

    def __post_init__(self) -> None:
        limit = MAX_EXT_ID if self.extended else MAX_STD_ID
        if not 0 <= self.id <= limit:
            bits = 29 if self.extended else 11
            raise ValueError(f"CAN id 0x{self.id:X} does not fit {bits} bits")
        if len(self.data) > 8:
            raise ValueError(f"CAN frame data has {len(self.data)} bytes, at most 8")


def _load(payload: bytes | bytearray | str) -> Any:
    """Bounded JSON (shared.payload_limits); PayloadRejected is a ValueError."""
    return decode_json(payload)


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {echo(value, 60)!r}")
    return value


def _bus(value: object) -> int:
    """Bus number, given as "0" or 0 depending on the firmware."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(f"'bus' must be a bus number like \"0\" or 0, got {echo(value, 60)!r}")


def _frame(raw: object, where: str) -> CanFrame | None:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object, got {type(raw).__name__}")
    missing = [key for key in ("id", "dlc", "extd", "data") if key not in raw]
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
    rtr = raw.get("rtr", False)
    extd = raw["extd"]
    if not isinstance(rtr, bool) or not isinstance(extd, bool):
        raise ValueError(f"{where}: 'rtr' and 'extd' must be true or false")
    can_id = _int(raw["id"], f"{where}.id")
    dlc = _int(raw["dlc"], f"{where}.dlc")
    if not 0 <= dlc <= 8:
        raise ValueError(f"{where}: dlc {dlc} is outside 0..8")
    if rtr:
        return None  # a remote request carries no data for us
    data = raw["data"]
    if not isinstance(data, list):
        raise ValueError(f"{where}: 'data' must be a list of bytes")
    if len(data) != dlc:
        raise ValueError(f"{where}: dlc is {dlc} but data has {len(data)} bytes")
    for index, byte in enumerate(data):
        if not 0 <= _int(byte, f"{where}.data[{index}]") <= 0xFF:
            raise ValueError(f"{where}: data[{index}] = {byte} is outside 0..255")
    try:
        return CanFrame(can_id, extd, bytes(data))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_rx(payload: bytes | bytearray | str) -> list[CanFrame]:
    """Frames of one `can/rx` message (remote-request frames are skipped)."""
    return _parse_frames(payload, "rx")


def parse_tx(payload: bytes | bytearray | str) -> list[CanFrame]:
    """Frames of one `can/tx` message (what the adapter is asked to send)."""
    return _parse_frames(payload, "tx")


def _parse_frames(payload: bytes | bytearray | str, expected: str) -> list[CanFrame]:
    message = _load(payload)
    if not isinstance(message, dict):
        raise ValueError(f"{expected} payload must be a JSON object")
    if "bus" not in message:
        raise ValueError(f"{expected} payload: missing key 'bus'")
    _bus(message["bus"])
    kind = message.get("type", expected)
    if kind != expected:
        raise ValueError(f"{expected} payload: 'type' is {echo(kind, 60)!r}, expected {expected!r}")
    if "frame" not in message:
        raise ValueError(f"{expected} payload: missing key 'frame'")
    raw_frames = message["frame"]
    if not isinstance(raw_frames, list):
        raise ValueError(f"{expected} payload: 'frame' must be a list")
    frames = [_frame(raw, f"frame[{index}]") for index, raw in enumerate(raw_frames)]
    return [frame for frame in frames if frame is not None]


def tx_message(frames: Iterable[CanFrame], bus: str = "0") -> dict[str, Any]:
    """The `can/tx` message for `frames`, in the adapter's format."""
    return {
        "bus": bus,
        "type": "tx",
        "frame": [
            {
                "id": frame.id,
                "dlc": len(frame.data),
                "rtr": False,
                "extd": frame.extended,
                "data": list(frame.data),
            }
            for frame in frames
        ],
    }


def tx_payload(frames: Iterable[CanFrame], bus: str = "0") -> bytes:
    """`tx_message` as compact JSON bytes, ready to publish."""
    return json.dumps(tx_message(frames, bus), separators=(",", ":")).encode()
