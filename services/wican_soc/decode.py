"""Turn a reassembled reply payload into a profile's values, rejecting what is implausible."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from services.wican_soc.expression import ExpressionError, PayloadTooShortError
from services.wican_soc.profiles import Profile, ValueSpec
from shared.isotp import (
    NRC_RESPONSE_PENDING,
    is_negative_response,
    is_positive_response,
    nrc_name,
)


@dataclass(frozen=True)
class Rejected:
    """A value that could not be decoded, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class DecodeResult:
    """Decoded values in profile order, plus the rejected ones.

    `response_pending` is True for `7F <sid> 78`: the ECU will answer later (P2* timeout).
    """

    values: dict[str, float] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    response_pending: bool = False

    @property
    def soc(self) -> float | None:
        """The decoded SoC, or None when it was rejected."""
        return self.values.get("soc")


def _reject_all(profile: Profile, reason: str, pending: bool = False) -> DecodeResult:
    rejected = [Rejected(value.name, reason) for value in profile.values]
    return DecodeResult({}, rejected, pending)


def _response_problem(profile: Profile, payload: bytes) -> str | None:
    request = profile.request
    if not payload:
        return "empty payload"
    if is_negative_response(payload):
        nrc = payload[2]
        answered = f" to service 0x{payload[1]:02X}" if payload[1] != request[0] else ""
        return f"negative response 0x{nrc:02X} {nrc_name(nrc)}{answered}"
    if not is_positive_response(payload, request):
        expected = bytes([request[0] + 0x40]) + request[1:]
        got = payload[: len(expected)]
        return f"unexpected response: expected {expected.hex(' ')}, got {got.hex(' ')}"
    if profile.payload_lengths and len(payload) not in profile.payload_lengths:
        known = ", ".join(str(n) for n in profile.payload_lengths)
        return f"reply of {len(payload)} bytes; this layout is known for {known}"
    return None


def _clamped(spec: ValueSpec, number: float) -> float:
    """`number` pulled onto min/max when it is within the spec's clamp margin of them."""
    margin = spec.clamp_margin
    if spec.min is not None and spec.min - margin <= number < spec.min:
        return spec.min
    if spec.max is not None and spec.max < number <= spec.max + margin:
        return spec.max
    return number


def decode_values(profile: Profile, payload: bytes) -> DecodeResult:
    """Decode every value of `profile` from the ISO-TP `payload` of its reply."""
    problem = _response_problem(profile, payload)
    if problem is not None:
        pending = is_negative_response(payload) and payload[2] == NRC_RESPONSE_PENDING
        return _reject_all(profile, problem, pending)
    values: dict[str, float] = {}
    rejected: list[Rejected] = []
    for spec in profile.values:
        try:
            number = float(spec.expr.evaluate(payload))
        except PayloadTooShortError:
            rejected.append(
                Rejected(
                    spec.name,
                    f"payload too short: needs byte P{spec.expr.max_index}, "
                    f"got {len(payload)} bytes",
                )
            )
            continue
        except (ExpressionError, OverflowError) as exc:
            rejected.append(Rejected(spec.name, f"cannot compute: {exc}"))
            continue
        number = _clamped(spec, number)
        if not math.isfinite(number) or (
            (spec.min is not None and number < spec.min)
            or (spec.max is not None and number > spec.max)
        ):
            low = "-inf" if spec.min is None else f"{spec.min:g}"
            high = "inf" if spec.max is None else f"{spec.max:g}"
            rejected.append(
                Rejected(spec.name, f"implausible: {number:g} {spec.unit} outside {low}..{high}")
            )
            continue
        values[spec.name] = number
    for spec in profile.values:
        missing = [name for name in spec.requires if name not in values]
        if spec.name in values and missing:
            del values[spec.name]
            rejected.append(Rejected(spec.name, f"computed from rejected {', '.join(missing)}"))
    return DecodeResult(values, rejected)
