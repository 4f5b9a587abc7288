"""The simulator's own description of the cars it plays (catalogue.yaml), and their replies.

Pure. A car's reply is its template with the SoC written into the bytes the car uses for
it: raw = round((soc - offset) / scale), clamped to what the bytes hold. This is a forward
encoding from a layout written from the public descriptions, never a search through
canbridge's decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from services.sim.wican.ecu import EcuAddressing

CATALOGUE = Path(__file__).with_name("catalogue.yaml")


@dataclass(frozen=True)
class SocLayout:
    bytes: tuple[int, ...]
    scale: float
    offset: float = 0.0
    order: Literal["big", "little"] = "big"

    def raw_for(self, soc: float) -> int:
        raw = round((soc - self.offset) / self.scale)
        return min(max(raw, 0), 256 ** len(self.bytes) - 1)

    def value_of(self, raw: int) -> float:
        return raw * self.scale + self.offset


@dataclass(frozen=True)
class CarModel:
    name: str
    description: str
    request_id: int
    response_id: int
    request: bytes
    reply: bytes
    soc: SocLayout
    id_29bit: bool = False
    functional_id: int | None = None
    ecu_address: int | None = None  # extended addressing: first byte of frames to the car
    tester_address: int | None = None  # ... and of frames from the car
    pad: int = 0xAA

    @property
    def addressing(self) -> EcuAddressing:
        return EcuAddressing(
            self.request_id,
            self.response_id,
            self.id_29bit,
            self.functional_id,
            self.ecu_address,
            self.tester_address,
            self.pad,
        )

    def reply_for(self, soc: float) -> tuple[bytes, float]:
        """The reply carrying `soc` as closely as the layout allows, and the SoC it carries."""
        raw = self.soc.raw_for(soc)
        payload = bytearray(self.reply)
        value = raw.to_bytes(len(self.soc.bytes), self.soc.order)
        for position, byte in zip(self.soc.bytes, value, strict=True):
            payload[position] = byte
        return bytes(payload), self.soc.value_of(raw)


def _id(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 29:
        raise ValueError(f"{where}: {value!r} is not a CAN id")
    return value


def _hex(value: object, where: str) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not hex bytes") from None


def parse_model(name: str, raw: Any) -> CarModel:
    where = f"car {name!r}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be a mapping")
    layout = raw.get("soc")
    if not isinstance(layout, dict) or not layout.get("bytes"):
        raise ValueError(f"{where}.soc: needs bytes and scale")
    soc = SocLayout(
        bytes=tuple(int(b) for b in layout["bytes"]),
        scale=float(layout["scale"]),
        offset=float(layout.get("offset", 0.0)),
        order=layout.get("order", "big"),
    )
    if soc.order not in ("big", "little") or soc.scale == 0:
        raise ValueError(f"{where}.soc: order must be big or little, scale not 0")
    address = raw.get("address")
    model = CarModel(
        name=name,
        description=str(raw.get("description", "")),
        request_id=_id(raw.get("request_id"), f"{where}.request_id"),
        response_id=_id(raw.get("response_id"), f"{where}.response_id"),
        request=_hex(raw.get("request"), f"{where}.request"),
        reply=_hex(raw.get("reply"), f"{where}.reply"),
        soc=soc,
        id_29bit=bool(raw.get("id_29bit", False)),
        functional_id=(
            None
            if raw.get("functional_id") is None
            else _id(raw["functional_id"], f"{where}.functional_id")
        ),
        ecu_address=None if address is None else int(address["ecu"]),
        tester_address=None if address is None else int(address["tester"]),
        pad=int(raw.get("pad", 0xAA)),
    )
    if max(soc.bytes) >= len(model.reply) or model.reply[0] != model.request[0] + 0x40:
        raise ValueError(f"{where}.reply: must be a positive reply holding the soc bytes")
    return model


@cache
def load_catalogue(path: Path = CATALOGUE) -> dict[str, CarModel]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: parse_model(name, car) for name, car in raw["cars"].items()}
