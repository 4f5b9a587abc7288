"""What a client has published retained, so it can say it again after a broker crash.

A broker that is killed loses every retained message published since its last autosave;
after a restart it serves the older values from its file (issue 12: `car/soc` went back
from 77.0 to 55.0). Each topic has one writer (the ACL), and that writer knows the
latest value: the shared MQTT client keeps it here and re-publishes it on every
reconnect. Pure data structure, no I/O; the caller passes the time.

- An empty payload deletes a retained message; the deletion is re-asserted too (an
  empty retained publish), or the broker's older file would bring the value back.
- A message with an MQTT v5 expiry is re-asserted with the time it has left; once
  expired it is dropped.
- Bounded: at most `max_topics` topics and `max_bytes` (topic + payload); the topic
  published longest ago goes first. `remember` returns what it had to forget.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

MAX_TOPICS = 1000
MAX_BYTES = 1 << 20


def payload_bytes(payload: bytes | bytearray | str | float | int | None) -> bytes:
    """The bytes paho sends for `payload` (None is empty, numbers as their text)."""
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, int | float):
        return str(payload).encode("ascii")
    raise TypeError(f"payload must be bytes, str, int, float or None, not {type(payload).__name__}")


@dataclass(frozen=True)
class Retained:
    topic: str
    payload: bytes
    qos: int
    expiry_s: int | None  # as published; None = never expires
    published_at: float  # the caller's clock (monotonic seconds)

    @property
    def size(self) -> int:
        return len(self.topic.encode("utf-8")) + len(self.payload)

    def remaining_s(self, now: float) -> int | None:
        """Expiry left at `now` (whole seconds, rounded up), None if it never expires."""
        if self.expiry_s is None:
            return None
        return math.ceil(self.expiry_s - (now - self.published_at))


@dataclass(frozen=True)
class Reassert:
    """One message to publish again: retained, with the expiry it has left."""

    topic: str
    payload: bytes
    qos: int
    expiry_s: int | None


class RetainedMemory:
    def __init__(self, max_topics: int = MAX_TOPICS, max_bytes: int = MAX_BYTES) -> None:
        if max_topics < 1 or max_bytes < 1:
            raise ValueError("max_topics and max_bytes must be at least 1")
        self.max_topics = max_topics
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Retained] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, topic: str) -> Retained | None:
        return self._items.get(topic)

    def forget(self, topic: str) -> None:
        item = self._items.pop(topic, None)
        if item is not None:
            self._bytes -= item.size

    def remember(
        self, topic: str, payload: bytes, qos: int, expiry_s: int | None, now: float
    ) -> list[str]:
        """Record the latest retained publish on `topic`; returns the topics forgotten for room."""
        self.forget(topic)
        # a deletion (empty payload) is kept too, without expiry: it must outlive the value
        item = Retained(topic, payload, qos, expiry_s if payload else None, now)
        if item.size > self.max_bytes:
            return [topic]
        forgotten = []
        while self._items and (
            len(self._items) >= self.max_topics or self._bytes + item.size > self.max_bytes
        ):
            oldest, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size
            forgotten.append(oldest)
        self._items[topic] = item
        self._bytes += item.size
        return forgotten

    def due(self, now: float) -> list[Reassert]:
        """Every remembered message still valid at `now`, oldest first; expired ones are dropped."""
        out = []
        for item in list(self._items.values()):
            left = item.remaining_s(now)
            if left is not None and left <= 0:
                self.forget(item.topic)
                continue
            out.append(Reassert(item.topic, item.payload, item.qos, left))
        return out
