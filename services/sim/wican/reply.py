"""The car side of the simulator: a profile's reply payload carrying a chosen SoC.

The profile's test vector is the template (a valid positive response of the right
length); the bytes the SoC formula reads are then searched so the formula gives the
wanted SoC as closely as the formula's resolution allows. The formulas are monotonic
in the bytes they read, taken big- or little-endian, so a binary search finds them.
"""

from __future__ import annotations

import re

from services.wican_soc.decode import decode_values
from services.wican_soc.expression import ExpressionError
from services.wican_soc.profiles import Profile
from shared.isotp import Message

_BYTE_NAME = re.compile(r"\bP(\d+)\b")


def template_payload(profile: Profile) -> bytes:
    """The payload of the profile's test vector, reassembled."""
    receiver = profile.new_receiver()
    for index, frame in enumerate(profile.test_vector.frames):
        for event in receiver.feed(profile.response_id, profile.extended, frame, index * 0.001):
            if isinstance(event, Message):
                return event.payload
    raise ValueError(f"{profile.name}: the test vector does not reassemble")


def _soc_bytes(profile: Profile) -> list[int]:
    names = _BYTE_NAME.findall(profile.values[0].expr.source)
    return list(dict.fromkeys(int(name) for name in names))


def _with_raw(template: bytes, order: list[int], raw: int) -> bytes:
    payload = bytearray(template)
    for position, index in enumerate(reversed(order)):
        payload[index] = (raw >> (8 * position)) & 0xFF
    return bytes(payload)


def _soc(profile: Profile, payload: bytes) -> float | None:
    try:
        return float(profile.values[0].expr.evaluate(payload))
    except (ExpressionError, OverflowError):
        return None


def _search(profile: Profile, template: bytes, order: list[int], soc: float, rising: bool):
    def below(raw: int) -> bool:
        value = _soc(profile, _with_raw(template, order, raw))
        return value is not None and (value < soc if rising else value > soc)

    lo, hi = 0, 256 ** len(order) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if below(mid):
            lo = mid + 1
        else:
            hi = mid
    return [_with_raw(template, order, raw) for raw in {max(lo - 1, 0), lo}]


class ReplyEncoder:
    """Builds replies of one profile for any SoC."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.template = template_payload(profile)
        self.order = _soc_bytes(profile)
        if not self.order:
            raise ValueError(f"{profile.name}: the soc formula reads no byte")

    def encode(self, soc: float) -> tuple[bytes, float]:
        """A reply payload whose SoC decodes as close to `soc` as possible, and that SoC."""
        profile, order = self.profile, self.order
        candidates = [
            payload
            for byte_order in (order, order[::-1])
            for rising in (True, False)
            for payload in _search(profile, self.template, byte_order, soc, rising)
        ]
        scored = [
            (abs(value - soc), payload)
            for payload in candidates
            if (value := _soc(profile, payload)) is not None
        ]
        if not scored:
            raise ValueError(f"{profile.name}: cannot encode soc {soc}")
        payload = min(scored, key=lambda item: item[0])[1]
        result = decode_values(profile, payload)
        if result.soc is None:
            raise ValueError(f"{profile.name}: soc {soc} gives a rejected reply: {result.rejected}")
        return payload, result.soc
