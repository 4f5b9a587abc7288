"""Seeded generator of hostile MQTT payloads (pure; the same seed gives the same payloads).

Families, mixed per topic: big (over or just under the topic's limit), deep nesting,
huge/NaN/inf numbers, wrong types, invalid UTF-8, and near-valid messages for the topic (its
own shape with out-of-range values, wrong keys or types). ``payloads(...)`` yields
``(family, payload)``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

Payload = bytes
Shape = Callable[[random.Random], object]  # a near-valid JSON value for the topic

MIB = 1024 * 1024

FAMILIES = ("big", "deep", "numbers", "types", "utf8", "near_valid")


def _deep(rng: random.Random) -> bytes:
    depth = rng.choice([33, 64, 200, 1_000, 5_000, 50_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"null" + b"}" * depth


HUGE_NUMBERS = [
    b"1" * 400,
    b"-" + b"9" * 400,
    b"9" * 5_000,
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1" * 39,
    b"1.7976931348623157e308",
    b"0." + b"0" * 300 + b"1",
    b'"' + b"1" * 5_000 + b'"',
]

WRONG_TYPES = [
    b"[]",
    b"{}",
    b"null",
    b"true",
    b'"text"',
    b"[1,2,3]",
    b'{"value":"12"}',
    b'{"value":[1]}',
    b'{"value":{"a":1}}',
    b'{"var":[1],"val":1}',
    b'{"var":{"a":1},"val":1}',
    b'{"cmd":5}',
    b'{"cmd":["on"]}',
    b'{"id":[1,2],"cmd":{"x":1}}',
    b'{"status":[1]}',
    b'{"bus":[0],"type":"rx","frame":{}}',
    b"",
    b" ",
    b"\x00",
]

BAD_UTF8 = [
    b"\xff\xfe",
    b"\xc0\xaf",  # overlong '/'
    b"\xed\xa0\x80",  # an encoded surrogate
    b'{"value":"\xff"}',
    b"\x80" * 100,
    b'"online\xff"',
]


def _oversized(rng: random.Random, limit: int) -> bytes:
    """Big payloads: over the topic's limit (refused unread) or just under it (parsed, then
    refused by validation: the echo in the answer must stay short)."""
    size = rng.choice([limit + 1, limit + rng.randint(2, limit), 4 * limit, limit - 64, limit // 2])
    if rng.random() < 0.01:
        size = max(size, MIB)  # the 1 MB of the issue
    if rng.random() < 0.5:
        count = max(1, (size - 1) // 2)
        return b"[" + b"1," * (count - 1) + b"1]"  # a valid JSON array of about `size` bytes
    return json.dumps({"value": "x" * max(0, size - 13)}).encode()


def _utf8(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return rng.choice(BAD_UTF8)
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def payloads(
    rng: random.Random, shape: Shape, limit: int, count: int, max_size: int | None = None
) -> Iterator[tuple[str, Payload]]:
    """``count`` hostile payloads for a topic whose payload limit is ``limit`` bytes.

    ``max_size`` caps every payload (e.g. below the broker's maximum packet size, which would
    otherwise drop the publisher's connection instead of testing the service).
    """
    for _ in range(count):
        family = rng.choice(FAMILIES)
        if family == "big":
            payload = _oversized(rng, limit)
        elif family == "deep":
            payload = _deep(rng)
        elif family == "numbers":
            payload = rng.choice(HUGE_NUMBERS)
            if rng.random() < 0.5:  # inside the topic's own shape
                payload = _embed(shape(rng), payload)
        elif family == "types":
            payload = rng.choice(WRONG_TYPES)
        elif family == "utf8":
            payload = _utf8(rng)
        else:
            value = shape(rng)
            payload = value if isinstance(value, bytes) else json.dumps(value).encode()
        if max_size is not None and len(payload) > max_size:
            payload = payload[:max_size]
        yield family, payload


def _embed(value: object, number: bytes) -> bytes:
    """Put a raw number literal where the shape has its first number (or wrap it)."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else json.dumps(value)
    marker = "__NUMBER__"
    if isinstance(value, dict) and value:
        key = next(iter(value))
        text = json.dumps({**value, key: marker})
        return text.replace(f'"{marker}"', number.decode("utf-8", "replace")).encode()
    return number if not text else b'{"value":' + number + b"}"


def out_of_range(rng: random.Random) -> float | int:
    """A number a careful validator must refuse somewhere (or accept within its range)."""
    return rng.choice(
        [
            -(10**12),
            10**12,
            1e300,
            -1e300,
            2**63,
            -(2**63) - 1,
            99_999,
            -99_999,
            65.0,
            0.000001,
            -0.0,
            rng.uniform(-1e6, 1e6),
            rng.randint(-5, 5),
        ]
    )
