"""A car that answers with recorded raw reply frames (the simulator's "cars file").

Pure and independent of canbridge's decoders: each entry maps one request frame to the
raw frames the car sent back, byte for byte (a capture or a profile's test vector). The
first reply frame goes out at once; if more follow, they wait for a Flow Control frame
(PCI 0x3, after the address byte under extended addressing) on `flow_control_id`, which
allows a block of `BS` frames (0 = all). Several entries make several ECUs or cars behind
one adapter; requests that match none are not answered, like on a real bus.

File (YAML or JSON): `{"cars": [{"name": "leaf", "request_id": 0x79B, "extended": false,
"request": "02 21 01", "response_id": 0x7BB, "flow_control_id": 0x79B, "address": null,
"frames": ["10 35 61 01 ...", ...]}]}`; `request` is compared with the start of the frame
(padding ignored), `address` is the byte before the PCI of our Flow Control (extended
addressing), `flow_control_id` defaults to `request_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.wican_payload import CanFrame

PCI_FLOW_CONTROL = 0x3
FLOW_CONTINUE = 0x0


@dataclass(frozen=True)
class RecordedReply:
    name: str
    request_id: int
    extended: bool
    request: bytes
    response_id: int
    frames: tuple[bytes, ...]
    flow_control_id: int
    address: int | None = None

    def matches(self, frame: CanFrame) -> bool:
        return (
            frame.id == self.request_id
            and frame.extended == self.extended
            and frame.data[: len(self.request)] == self.request
        )


def _as_id(value: Any) -> int:
    """A CAN id from an int or a hex string ("7BB", "0x18DAF1DB")."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("must be a CAN id")
    return int(value, 16) if isinstance(value, str) else value


def _convert(value: Any, convert, where: str):
    """`convert(value)`, with a message naming the entry and field on failure."""
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {value!r} is not valid ({exc})") from None


def _hex(value: Any, where: str) -> bytes:
    return _convert(value, bytes.fromhex, where)


def _id(value: Any, where: str) -> int:
    return _convert(value, _as_id, where)


def parse_cars(raw: Any) -> list[RecordedReply]:
    """Validate the cars file content."""
    if not isinstance(raw, dict) or not isinstance(raw.get("cars"), list) or not raw["cars"]:
        raise ValueError("a cars file needs a non-empty list 'cars'")
    replies = []
    for index, car in enumerate(raw["cars"]):
        where = f"cars[{index}]"
        if not isinstance(car, dict):
            raise ValueError(f"{where}: must be a mapping")
        frames = car.get("frames")
        if not isinstance(frames, list) or not frames:
            raise ValueError(f"{where}.frames: needs at least one frame")
        request_id = _id(car.get("request_id"), f"{where}.request_id")
        address = car.get("address")
        replies.append(
            RecordedReply(
                name=str(car.get("name", where)),
                request_id=request_id,
                extended=bool(car.get("extended", False)),
                request=_hex(car.get("request"), f"{where}.request"),
                response_id=_id(car.get("response_id"), f"{where}.response_id"),
                frames=tuple(_hex(f, f"{where}.frames[{i}]") for i, f in enumerate(frames)),
                flow_control_id=_id(car.get("flow_control_id", request_id), where),
                address=None if address is None else _id(address, f"{where}.address"),
            )
        )
    return replies


def load_cars(path: Path) -> list[RecordedReply]:
    try:
        return parse_cars(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


class RecordedTransfer:
    """One reply on its way out: `start()`, then `on_flow_control(data)` per FC."""

    def __init__(self, reply: RecordedReply) -> None:
        self.reply = reply
        self._next = 0

    @property
    def done(self) -> bool:
        return self._next >= len(self.reply.frames)

    def _frame(self) -> CanFrame:
        data = self.reply.frames[self._next]
        self._next += 1
        return CanFrame(self.reply.response_id, self.reply.extended, data)

    def start(self) -> list[CanFrame]:
        return [self._frame()]

    def is_flow_control(self, frame: CanFrame) -> bool:
        reply = self.reply
        if frame.id != reply.flow_control_id or frame.extended != reply.extended:
            return False
        data = frame.data
        if reply.address is not None:
            if not data or data[0] != reply.address:
                return False
            data = data[1:]
        return bool(data) and data[0] >> 4 == PCI_FLOW_CONTROL

    def on_flow_control(self, frame: CanFrame) -> list[CanFrame]:
        """The frames one Flow Control (continue) allows; nothing for wait or overflow."""
        data = frame.data[1:] if self.reply.address is not None else frame.data
        if data[0] & 0x0F != FLOW_CONTINUE or self.done:
            return []
        block = data[1] if len(data) > 1 else 0
        count = len(self.reply.frames) - self._next if block == 0 else block
        return [self._frame() for _ in range(min(count, len(self.reply.frames) - self._next))]


class RecordedCar:
    """All recorded replies behind one adapter; one transfer at a time."""

    def __init__(self, replies: list[RecordedReply]) -> None:
        self.replies = replies
        self.transfer: RecordedTransfer | None = None

    def on_frame(self, frame: CanFrame) -> list[CanFrame]:
        """Frames to put on can/rx for one frame received on can/tx."""
        if self.transfer is not None and self.transfer.is_flow_control(frame):
            out = self.transfer.on_flow_control(frame)
            if self.transfer.done:
                self.transfer = None
            return out
        for reply in self.replies:
            if reply.matches(frame):
                self.transfer = RecordedTransfer(reply)
                out = self.transfer.start()
                if self.transfer.done:
                    self.transfer = None
                return out
        return []
