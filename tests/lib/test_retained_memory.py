"""The memory of retained publishes the shared client re-asserts after a reconnect (pure)."""

from __future__ import annotations

import pytest

from shared.retained_memory import Reassert, RetainedMemory, payload_bytes


def topics(memory: RetainedMemory, now: float = 0.0) -> list[str]:
    return [r.topic for r in memory.due(now)]


def test_latest_payload_per_topic_in_publish_order():
    m = RetainedMemory()
    m.remember("car/soc", b"55.0", 1, None, 0.0)
    m.remember("bic/0/state", b"{}", 1, None, 1.0)
    m.remember("car/soc", b"77.0", 1, None, 2.0)
    assert m.due(3.0) == [
        Reassert("bic/0/state", b"{}", 1, None),
        Reassert("car/soc", b"77.0", 1, None),
    ]
    assert len(m) == 2 and m.size == len("bic/0/state{}") + len("car/soc77.0")


def test_a_deletion_is_reasserted_as_a_deletion_without_expiry():
    m = RetainedMemory()
    m.remember("t", b"value", 1, 60, 0.0)
    m.remember("t", b"", 0, 60, 1.0)
    assert m.due(1000.0) == [Reassert("t", b"", 0, None)]


def test_expiry_is_what_is_left_and_an_expired_message_is_dropped():
    m = RetainedMemory()
    m.remember("soon", b"1", 1, 10, 100.0)
    m.remember("never", b"2", 1, None, 100.0)
    assert m.due(100.0)[0].expiry_s == 10
    assert m.due(103.5)[0].expiry_s == 7  # rounded up: never re-sent as already expired
    assert m.due(109.9)[0].expiry_s == 1
    assert topics(m, 110.0) == ["never"]
    assert m.get("soon") is None and len(m) == 1


def test_bounded_by_topics_oldest_published_goes_first():
    m = RetainedMemory(max_topics=2)
    assert m.remember("a", b"1", 0, None, 0.0) == []
    assert m.remember("b", b"1", 0, None, 1.0) == []
    assert m.remember("a", b"2", 0, None, 2.0) == []  # a is now the newest
    assert m.remember("c", b"1", 0, None, 3.0) == ["b"]
    assert topics(m) == ["a", "c"]


def test_bounded_by_bytes():
    m = RetainedMemory(max_bytes=10)
    m.remember("a", b"1234", 0, None, 0.0)  # 5 bytes
    m.remember("b", b"1234", 0, None, 0.0)  # 10
    assert m.remember("c", b"12", 0, None, 0.0) == ["a"]
    assert m.size == 8 and topics(m) == ["b", "c"]
    assert m.remember("d", b"x" * 20, 0, None, 0.0) == ["d"]  # larger than the whole memory
    assert topics(m) == ["b", "c"] and m.get("d") is None


def test_forget_and_replace_keep_the_byte_count():
    m = RetainedMemory()
    m.remember("a", b"123", 0, None, 0.0)
    m.remember("a", b"1", 0, None, 0.0)
    assert m.size == 2
    m.forget("a")
    m.forget("missing")
    assert m.size == 0 and len(m) == 0


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        RetainedMemory(max_topics=0)


def test_payload_bytes_like_paho():
    assert payload_bytes(None) == b""
    assert payload_bytes("ä") == "ä".encode()
    assert payload_bytes(bytearray(b"x")) == b"x"
    assert payload_bytes(77.0) == b"77.0" and payload_bytes(3) == b"3"
    with pytest.raises(TypeError, match="not list"):
        payload_bytes([1])
