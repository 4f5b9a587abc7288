"""shared.payload_limits: every hostile payload becomes a PayloadRejected, never another error."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.payload_limits import (
    COMMAND_LIMITS,
    DEFAULT_LIMITS,
    ECHO_CHARS,
    PayloadLimits,
    PayloadRejected,
    decode_json,
    decode_text,
    echo,
    excerpt,
    finite_number,
    json_depth_exceeds,
)

SMALL = PayloadLimits(max_bytes=64, max_depth=3, max_number_chars=10)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize(
    ("payload", "cause"),
    [
        (b"x" * (DEFAULT_LIMITS.max_bytes + 1), "too_large"),
        (b"\xff\xfe", "not_utf8"),
        (b"   ", "empty"),
        (b"", "empty"),
        (b"[" * 100_000, "too_large"),
        (b"[" * 33 + b"]" * 33, "too_deep"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "too_deep"),
        (b"1" * 400, "bad_number"),  # float() of it overflows
        (b"9" * 5000, "bad_number"),  # beyond Python's int digit limit
        (b'{"value": -' + b"7" * 400 + b"}", "bad_number"),
        (b"1e400", "bad_number"),
        (b"-1e400", "bad_number"),
        (b"NaN", "bad_number"),
        (b'{"a": Infinity}', "bad_number"),
        (b"-Infinity", "bad_number"),
        (b"{not json", "not_json"),
        (b'{"a": 1} trailing', "not_json"),
        (b'"unterminated', "not_json"),
    ],
)
def test_hostile_payloads_are_rejected_with_their_cause(payload, cause):
    with pytest.raises(PayloadRejected) as info:
        decode_json(payload)
    assert info.value.cause == cause
    assert isinstance(info.value, ValueError)  # callers that catch ValueError keep working
    assert len(str(info.value)) <= ECHO_CHARS


def test_limits_are_inclusive_at_the_edge():
    assert decode_json(b"[" * 32 + b"]" * 32) is not None
    assert decode_json(b"1" * 40) == int("1" * 40)
    assert decode_json(b" " * (DEFAULT_LIMITS.max_bytes - 1) + b"1") == 1
    with pytest.raises(PayloadRejected):
        decode_json(b"1" * 41)


def test_brackets_inside_strings_do_not_count_as_nesting():
    deep_text = json.dumps({"note": "[[[[{{{{" * 20, "quote": 'a "quoted" \\ [['})
    assert decode_json(deep_text, SMALL.__class__(max_depth=1))["quote"] == 'a "quoted" \\ [['


def test_escaped_backslash_before_a_quote_ends_the_string():
    # "\\" is a complete string; the bracket after it is structure again
    assert json_depth_exceeds('["\\\\", [[1]]]', 2)
    assert not json_depth_exceeds('["\\\\", [[1]]]', 3)
    # \" does not end the string: the brackets stay inside it
    assert not json_depth_exceeds('["\\" [[[[ "]', 1)


def test_depth_scan_is_linear_on_many_unterminated_escapes():
    # a regex for "string literals" would backtrack quadratically here; the scan does not
    hostile = '"' + '\\"' * 30_000
    assert not json_depth_exceeds(hostile, 1)
    with pytest.raises(PayloadRejected) as info:
        decode_json(hostile)
    assert info.value.cause == "not_json"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_valid_documents_within_limits_round_trip(value):
    text = json.dumps(value)
    if depth_of(value) <= DEFAULT_LIMITS.max_depth:
        assert decode_json(text.encode()) == value
    assert json_depth_exceeds(text, depth_of(value)) is False
    if depth_of(value) > 0:
        assert json_depth_exceeds(text, depth_of(value) - 1) is True


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_either_decode_or_are_rejected(data):
    try:
        decode_json(data, SMALL)
    except PayloadRejected as exc:
        assert exc.cause in {"too_large", "not_utf8", "empty", "too_deep", "not_json", "bad_number"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\,:0123456789.eE-+ atrufnl', max_size=120))
def test_structural_noise_never_escapes_as_another_exception(text):
    try:
        value = decode_json(text, SMALL)
    except PayloadRejected:
        return
    assert depth_of(value) <= SMALL.max_depth


def test_decode_text_checks_size_and_utf8_only():
    assert decode_text(b" hello ") == " hello "
    assert decode_text(b"") == ""
    with pytest.raises(PayloadRejected):
        decode_text(b"x" * 65, SMALL)


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        PayloadLimits(max_bytes=0)
    assert COMMAND_LIMITS.max_bytes < DEFAULT_LIMITS.max_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (-2.5, -2.5), (0, 0.0), (10**20, 1e20)],
)
def test_finite_number_accepts_numbers(value, expected):
    assert finite_number(value, "v") == expected


@pytest.mark.parametrize(
    "value",
    [True, None, "1", [1], {"a": 1}, math.nan, math.inf, -math.inf, 10**400, 10**5000],
    ids=["bool", "none", "text", "list", "dict", "nan", "inf", "-inf", "400 digits", "5001 digits"],
)
def test_finite_number_refuses_everything_else_cleanly(value):
    with pytest.raises(PayloadRejected) as info:
        finite_number(value, "value")
    assert len(str(info.value)) <= ECHO_CHARS


def test_finite_number_range():
    assert finite_number(5, "v", 0, 5) == 5.0
    with pytest.raises(PayloadRejected, match="outside 0 .. 5"):
        finite_number(5.01, "v", 0, 5)
    with pytest.raises(PayloadRejected, match="outside -inf .. 3"):
        finite_number(4, "v", maximum=3)


def test_excerpt_bounds_bytes_and_text():
    assert excerpt(b"short") == "short"
    long = excerpt(b"a" * 1_000_000)
    assert long.startswith("a" * ECHO_CHARS) and long.endswith("(1000000 bytes)")
    assert len(long) < ECHO_CHARS + 30
    assert excerpt("é" * 300).endswith("(300 chars)")
    assert excerpt(b"\xff\xfe") == "\ufffd\ufffd"
    assert len(excerpt([1] * 100_000)) < ECHO_CHARS + 30


def test_excerpt_of_an_int_beyond_the_digit_limit_does_not_raise():
    assert excerpt(10**5000) == "<int>"


@pytest.mark.parametrize("value", [None, True, 3, -1.5, "ok", "x" * ECHO_CHARS])
def test_echo_returns_short_scalars_unchanged(value):
    assert echo(value) == value


@pytest.mark.parametrize(
    "value",
    ["x" * 10_000, list(range(10_000)), {"k": "v" * 5000}, 10**400, 10**5000],
    ids=["long text", "long list", "big object", "400 digits", "5001 digits"],
)
def test_echo_bounds_everything_else(value):
    echoed = echo(value)
    assert isinstance(echoed, str) and len(echoed) < ECHO_CHARS + 30


def test_echo_of_a_short_list_is_its_json():
    assert echo([1, "a"]) == '[1,"a"]'
