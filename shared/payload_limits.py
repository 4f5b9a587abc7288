"""Bounded inbound payloads: every MQTT input of every service is decoded here (pure, no I/O).

A payload is judged in this order, and the first failing check names the ``cause``:

1. ``too_large``: more bytes than the subscription's ``max_bytes`` (checked before anything
   else, so a 1 MB payload costs one ``len()``);
2. ``not_utf8`` / ``empty``;
3. ``too_deep``: JSON nested deeper than ``max_depth`` (a linear scan before parsing, so the
   parser never recurses into a hostile document);
4. ``not_json``;
5. ``bad_number``: a number literal longer than ``max_number_chars`` (a 400-digit integer
   overflows float(), a 5,000-digit one exceeds Python's int digit limit) or one that is not
   finite once parsed (``1e400``; ``NaN``/``Infinity`` are not JSON at all).

``PayloadRejected`` is a ``ValueError`` whose message quotes at most ``ECHO_CHARS`` characters of
the input; ``excerpt``/``echo`` bound anything else that is echoed into errors and logs.
``finite_number`` is the one check for "a finite number in range" on decoded values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

#: at most this many characters of an input are echoed in errors, replies and logs
ECHO_CHARS = 200
#: an error text: the service's own explanation, which may quote a (short) part of the input
MESSAGE_CHARS = 2 * ECHO_CHARS + 100

KIB = 1024


@dataclass(frozen=True)
class PayloadLimits:
    """What one subscription accepts."""

    max_bytes: int = 64 * KIB
    max_depth: int = 32
    max_number_chars: int = 40

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_depth < 1 or self.max_number_chars < 1:
            raise ValueError(f"payload limits must be positive: {self}")


#: state documents, meter and BMS payloads, configs: generous for any real device
DEFAULT_LIMITS = PayloadLimits()
#: commands (a setpoint, a CLI request, a controller setting, a schedule): small by nature
COMMAND_LIMITS = PayloadLimits(max_bytes=16 * KIB, max_depth=16)
#: one-word status topics (online/offline) and tiny setpoints
SMALL_LIMITS = PayloadLimits(max_bytes=1 * KIB, max_depth=4)


class PayloadRejected(ValueError):
    """An input refused by validation; ``cause`` is a short stable word for counting/logging."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def excerpt(value: object, limit: int = ECHO_CHARS) -> str:
    """``value`` as text (bytes decoded with replacement), cut to ``limit`` characters."""
    if isinstance(value, bytes | bytearray | memoryview):
        head = bytes(value[: limit * 4])  # enough bytes for `limit` characters
        text = head.decode("utf-8", "replace")
        size, complete = f"{len(value)} bytes", len(head) == len(value)
    else:
        text = value if isinstance(value, str) else _safe_repr(value)
        size, complete = f"{len(text)} chars", True
    if complete and len(text) <= limit:
        return text
    return f"{text[:limit]}... ({size})"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except (ValueError, RecursionError):  # an int beyond the digit limit, a cyclic object
        return f"<{type(value).__name__}>"


def echo(value: object, limit: int = ECHO_CHARS) -> object:
    """``value`` itself if it is a short JSON scalar, else a bounded text excerpt of it.

    For the ``value``/``id`` fields of error and reply messages: a number, bool, None or short
    string comes back as it was sent; a long string, list or object is replaced by its excerpt.
    """
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
            return excerpt(str(value) if value.bit_length() < 10_000 else "<huge integer>", limit)
        return value
    if isinstance(value, str) and len(value) <= limit:
        return value
    if isinstance(value, str):
        return excerpt(value, limit)
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else excerpt(text, limit)


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True if brackets outside strings nest deeper than ``max_depth`` (linear, no recursion).

    Only the characters that matter are visited (a regex finds them); a string's quotes and
    backslashes are tracked so brackets inside strings do not count.
    """
    depth = 0
    in_string = False
    escaped_at = -1  # index of the character a backslash escapes
    for match in _STRUCTURAL.finditer(text):
        index = match.start()
        char = match.group()
        if in_string:
            if index == escaped_at:
                continue
            if char == "\\":
                escaped_at = index + 1
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


_STRUCTURAL = re.compile(r'[\[\]{}"\\]')


def _number_parsers(limits: PayloadLimits) -> tuple[Callable[[str], int], Callable[[str], float]]:
    def parse_int(text: str) -> int:
        if len(text) > limits.max_number_chars:
            raise PayloadRejected(
                "bad_number",
                f"number with {len(text)} characters (at most {limits.max_number_chars})",
            )
        return int(text)

    def parse_float(text: str) -> float:
        if len(text) > limits.max_number_chars:
            raise PayloadRejected(
                "bad_number",
                f"number with {len(text)} characters (at most {limits.max_number_chars})",
            )
        number = float(text)
        if not math.isfinite(number):
            raise PayloadRejected("bad_number", f"number {excerpt(text, 40)} is not finite")
        return number

    return parse_int, parse_float


def _reject_constant(name: str) -> NoReturn:
    raise PayloadRejected("bad_number", f"payload contains {name}, which is not JSON")


def check_size(payload: bytes | bytearray | str, limits: PayloadLimits = DEFAULT_LIMITS) -> None:
    """Raise ``PayloadRejected("too_large")`` for a payload over ``limits.max_bytes``."""
    size = len(payload)
    if size > limits.max_bytes:
        raise PayloadRejected("too_large", f"payload has {size} bytes (at most {limits.max_bytes})")


def decode_text(payload: bytes | bytearray | str, limits: PayloadLimits = DEFAULT_LIMITS) -> str:
    """The payload as text after the size and UTF-8 checks (not stripped, may be empty)."""
    check_size(payload, limits)
    if isinstance(payload, str):
        return payload
    try:
        return bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadRejected("not_utf8", f"payload is not UTF-8: {exc.reason}") from None


def decode_json(payload: bytes | bytearray | str, limits: PayloadLimits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON payload within ``limits``; raise ``PayloadRejected`` (a ValueError)."""
    text = decode_text(payload, limits)
    if not text.strip():
        raise PayloadRejected("empty", "payload is empty")
    return parse_json_text(text, limits)


def parse_json_text(text: str, limits: PayloadLimits = DEFAULT_LIMITS) -> Any:
    """``decode_json`` for text that passed the size check already."""
    if json_depth_exceeds(text, limits.max_depth):
        raise PayloadRejected("too_deep", f"JSON nested deeper than {limits.max_depth} levels")
    parse_int, parse_float = _number_parsers(limits)
    try:
        return json.loads(
            text, parse_int=parse_int, parse_float=parse_float, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise PayloadRejected(
            "not_json", f"payload is not JSON: {exc.msg} at position {exc.pos}"
        ) from None
    except RecursionError:  # not reachable after the depth scan; kept as a last guard
        raise PayloadRejected("too_deep", "JSON nested too deeply") from None


def finite_number(
    value: object, what: str, minimum: float | None = None, maximum: float | None = None
) -> float:
    """``value`` as a finite float within [minimum, maximum]; ``PayloadRejected`` otherwise.

    bool is not a number here; an int too large for a float is refused, not an OverflowError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadRejected("bad_value", f"{what} must be a number, got {echo(value, 60)!r}")
    try:
        number = float(value)
    except OverflowError:
        raise PayloadRejected("bad_value", f"{what} is too large") from None
    if not math.isfinite(number):
        raise PayloadRejected("bad_value", f"{what} must be finite, got {number}")
    low = -math.inf if minimum is None else minimum
    high = math.inf if maximum is None else maximum
    if not low <= number <= high:
        raise PayloadRejected("bad_value", f"{what} {number:g} is outside {low:g} .. {high:g}")
    return number
