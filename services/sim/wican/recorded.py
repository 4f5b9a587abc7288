"""A car that answers with recorded raw reply frames (the simulator's "cars file").

Pure and independent of canbridge's decoders: each entry maps one request frame to the
raw frames the car sent back (a capture or a profile's test vector). The recorded frames
are reassembled by can-isotp when the file is loaded (a recording that is not valid
ISO-TP is refused, naming the entry) and sent again by the same ECU as the catalogue cars
(services/sim/wican/ecu.py): First Frame, then the tester's Flow Control on
`flow_control_id` releases the rest, with its block size and STmin. The padding byte is the
recording's, so a well-formed recording goes out byte for byte. Several entries make
several ECUs or cars behind one adapter; requests that match none are not answered.

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

import isotp
import yaml

from services.sim.wican.ecu import (
    ISOTP_LOGGER,
    Answer,
    Ecu,
    EcuAddressing,
    IsoTpTuning,
    addressing_mode,
)
from shared.wican_payload import CanFrame


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


def _as_id(value: object) -> int:
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


def _hex(value: object, where: str) -> bytes:
    return _convert(value, bytes.fromhex, where)


def _id(value: object, where: str) -> int:
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
    for index, reply in enumerate(replies):
        try:
            reassemble(reply)
        except ValueError as exc:
            raise ValueError(f"cars[{index}].frames: {exc}") from None
    return replies


def load_cars(path: Path) -> list[RecordedReply]:
    try:
        return parse_cars(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _offset(reply: RecordedReply) -> int:
    return 0 if reply.address is None else 1


def _addressing(reply: RecordedReply) -> EcuAddressing:
    """The ECU that sent the recording: requests (and Flow Control) on flow_control_id."""
    last = reply.frames[-1]
    return EcuAddressing(
        request_id=reply.flow_control_id,
        response_id=reply.response_id,
        id_29bit=reply.extended,
        functional_id=None if reply.request_id == reply.flow_control_id else reply.request_id,
        ecu_address=reply.address,
        tester_address=reply.frames[0][0] if reply.address is not None else None,
        pad=last[-1] if len(last) == 8 else None,  # the recording's padding, if any
    )


def reassemble(reply: RecordedReply) -> bytes:
    """The payload of the recorded frames, by can-isotp (raises ValueError if invalid)."""
    errors: list[str] = []
    inbox = [
        isotp.CanMessage(reply.response_id, data=f, extended_id=reply.extended, dlc=len(f))
        for f in reply.frames
    ]
    a = _addressing(reply)
    mode = addressing_mode(a.id_29bit, a.ecu_address is not None)
    extended: dict[str, Any] = (  # Address's keyword arguments of extended addressing
        {}
        if a.ecu_address is None
        else {"source_address": a.tester_address, "target_address": a.ecu_address}
    )
    # can-isotp takes a zero-argument rxfn as non-blocking (what this needs); its annotation
    # names only the blocking one-argument form
    listener = isotp.TransportLayerLogic(
        rxfn=lambda: inbox.pop(0) if inbox else None,  # type: ignore[arg-type,misc]
        txfn=lambda _msg: None,
        address=isotp.Address(mode, rxid=a.response_id, txid=a.request_id, **extended),
        params={"listen_mode": True, "logger_name": ISOTP_LOGGER},
        error_handler=lambda e: errors.append(str(e)),
    )
    while inbox:  # can-isotp takes a First Frame in a pass of its own
        listener.process()
    listener.process()
    payload = listener.recv()
    if payload is None or errors:
        raise ValueError(f"not one valid ISO-TP message ({'; '.join(errors) or 'incomplete'})")
    return bytes(payload)


def _request_payload(reply: RecordedReply) -> bytes:
    """The request's data after the (address byte and) single-frame PCI."""
    start = _offset(reply) + 1
    return reply.request[start:]


class RecordedCar:
    """All recorded replies behind one adapter: an ECU per addressing, answering by request."""

    def __init__(self, replies: list[RecordedReply], tuning: IsoTpTuning | None = None):
        self.replies = replies
        tuning = tuning or IsoTpTuning()
        answers: dict[EcuAddressing, list[tuple[bytes, bytes]]] = {}
        for reply in replies:
            answers.setdefault(_addressing(reply), []).append(
                (_request_payload(reply), reassemble(reply))
            )
        self.ecus = [
            Ecu(addressing, self._answerer(table), tuning) for addressing, table in answers.items()
        ]

    @staticmethod
    def _answerer(table: list[tuple[bytes, bytes]]) -> Answer:
        def answer(request: bytes, functional: bool) -> bytes | None:
            for wanted, payload in table:
                if request.startswith(wanted):
                    return payload
            return None  # unknown requests: silence, like the recorded car

        return answer

    @property
    def errors(self) -> list[str]:
        return [error for ecu in self.ecus for error in ecu.errors]

    def clear_errors(self) -> None:
        for ecu in self.ecus:
            ecu.errors.clear()

    def receive(self, frame: CanFrame) -> None:
        for ecu in self.ecus:
            ecu.receive(frame)

    def step(self) -> list[CanFrame]:
        return [frame for ecu in self.ecus for frame in ecu.step()]

    def on_frame(self, frame: CanFrame) -> list[CanFrame]:
        """Frames to put on can/rx for one frame received on can/tx (no STmin pacing)."""
        self.receive(frame)
        return self.step()

    def busy(self) -> bool:
        return any(ecu.busy() for ecu in self.ecus)

    def next_delay(self) -> float | None:
        delays = [d for ecu in self.ecus if (d := ecu.next_delay()) is not None]
        return min(delays) if delays else None

    def abort(self) -> None:
        for ecu in self.ecus:
            ecu.abort()
