"""The pure parsers behind every inbound handler, fed the fuzz test's hostile payloads.

Each parser may only answer in its documented way (a value, None, or its own ValueError
subclass); anything else (TypeError, OverflowError, RecursionError, a plain ValueError from
int()) is what used to become a `handler_failed` traceback in a service.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from system.can_watch import out_of_bounds
from system.hostile import payloads
from system.inbound import INBOUND, ODD_LEVELS

from services.api.bounded_map import BoundedMap
from services.api.registry import MAX_SERVICES, ServiceRegistry
from services.api.state_cache import MAX_KEYS, StateCache
from services.bic_gateway.codec import to_raw
from services.bic_gateway.setpoint_request import parse_setpoint, parse_state
from services.charge_controller.controller_config import (
    CommandError,
    ControllerConfig,
    parse_value,
    with_change,
)
from services.charge_controller.gateway_link import parse_state as parse_gateway_state
from services.charge_controller.meter_input import extract_value
from shared.contract.status import parse_status
from shared.contract.topics import parse_set_topic
from shared.payload_limits import ECHO_CHARS, PayloadRejected, decode_json
from shared.wican_payload import parse_rx

# thousands of payloads through pure parsers: make test runs it untraced (tests/conftest.py)
pytestmark = pytest.mark.exhaustive

SEED = 1202
PER_ROW = 300


@functools.cache
def corpus() -> list[tuple[str, bytes]]:
    """Hostile payloads of every inbound row, smaller than the stack test's (same generator).
    Made when a test first asks (every pytest-xdist worker collects this module)."""
    rng = random.Random(SEED)
    out: list[tuple[str, bytes]] = []
    for row in INBOUND:
        out.extend((row.name, p) for _family, p in payloads(rng, row.shape, row.limit, PER_ROW))
    return out


EXTRA = [
    b'{"var":[1],"val":1}',
    b"1" * 400,
    b"9" * 5000,
    b"[" * 100_000,
    b'{"value": ' + b"1" * 400 + b"}",
    b'{"SML": {"Power_curr": ' + b"1" * 400 + b"}}",
]


@functools.cache
def generated() -> list[bytes]:
    """Every payload of the corpus, repeats included, and the extra ones."""
    return [p for _name, p in corpus()] + EXTRA


@functools.cache
def every_payload() -> list[bytes]:
    """Each distinct payload once, in corpus order: the parsers below are functions of the
    payload alone, and three in four generated payloads repeat one (a few dozen wrong types
    and huge numbers are drawn again and again)."""
    return list(dict.fromkeys(generated()))


def test_the_corpus_covers_every_family_and_row():
    assert {name for name, _p in corpus()} == {row.name for row in INBOUND}
    assert len(corpus()) >= 1000 * 5
    assert len(every_payload()) > 1000


@pytest.mark.parametrize("path", [None, "SML.Power_curr", "$..Power_curr", "soc", "a/b/0/c"])
def test_meter_values_are_finite_or_none(path):
    for payload in every_payload():
        value = extract_value(payload, path)
        assert value is None or math.isfinite(value), payload[:80]


def test_gateway_state_for_the_controller_is_finite_or_none():
    for payload in every_payload():
        reading = parse_gateway_state(payload)
        if reading is not None:
            for number in (reading.ac_w, reading.voltage_v, reading.temperature_c):
                assert number is None or math.isfinite(number)


@pytest.mark.parametrize("name", ["power", "current", "charge"])
def test_setpoint_commands_parse_to_a_finite_value_or_a_value_error(name):
    for payload in every_payload():
        try:
            request = parse_setpoint(name, payload)
        except ValueError:
            continue
        assert math.isfinite(request.value)
        assert request.ts is None or math.isfinite(request.ts)


def test_legacy_charge_with_a_list_as_var_is_a_clean_refusal():
    with pytest.raises(ValueError, match="chargeA"):
        parse_setpoint("charge", b'{"var":[1],"val":1}')


def test_state_commands_are_0_1_or_a_short_value_error():
    for payload in every_payload():
        try:
            assert parse_state(payload) in (0, 1)
        except ValueError as exc:
            assert len(str(exc)) <= ECHO_CHARS


def test_controller_settings_are_refused_with_command_error_only():
    config = ControllerConfig()
    paths = ["mode", "control/gain", "schedule/profiles", "battery", "nope", "control"]
    rng = random.Random(SEED)
    # every generated payload, repeats too: each goes to a setting drawn at random
    for payload in generated():
        try:
            value = parse_value(payload)
            with_change(config, rng.choice(paths), value)
        except CommandError:
            continue


def test_controller_refuses_a_huge_number_while_parsing():
    with pytest.raises(CommandError, match="characters"):
        parse_value(b"1" * 400)
    with pytest.raises(CommandError, match="too|deeper"):
        parse_value(b"[" * 20 + b"]" * 20)
    assert parse_value(b"auto") == "auto"  # plain words still work
    assert parse_value(b"ON") is True


def test_wican_parsers_answer_cleanly():
    for payload in every_payload():
        assert parse_status(payload) in ("online", "offline", None)
        try:
            parse_rx(payload)
        except ValueError:
            continue


def test_wican_status_with_a_5000_digit_number_is_unknown_not_an_error():
    assert parse_status(b"9" * 5000) is None
    assert parse_status(b'{"status": "online"}') == "online"
    assert parse_status(b"offline") == "offline"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_every_parser_survives_arbitrary_bytes(data):
    assert parse_status(data) in ("online", "offline", None)
    value = extract_value(data, "$..Power_curr")
    assert value is None or math.isfinite(value)
    for call in (lambda: parse_rx(data), lambda: parse_setpoint("power", data)):
        with contextlib.suppress(ValueError):
            call()
    with contextlib.suppress(PayloadRejected):
        decode_json(data)


def test_state_cache_holds_a_bounded_number_of_names():
    cache = StateCache()
    cache.update("vehicles", "real-car", {"soc": 50}, 0.0)
    for n in range(1000):
        cache.update("vehicles", f"invented-{n}", {"soc": n}, 1.0)
    view = cache.view("vehicles", 2.0)
    assert len(view) == MAX_KEYS
    assert view["real-car"]["value"] == {"soc": 50}  # an existing entry is never pushed out
    cache.update("vehicles", "real-car", {"soc": 51}, 3.0)
    assert cache.view("vehicles", 3.0)["real-car"]["value"] == {"soc": 51}


def test_registry_keeps_running_services_and_bounds_invented_ones():
    registry = ServiceRegistry(3, expected=["bic-gateway"])
    registry.on_status("wican-soc", "online", 0.0)
    registry.on_heartbeat("wican-soc", {"interval_s": 10}, 0.0)
    registry.on_status("wican-soc", "{}", 0.5)  # a stray status: it looks offline for now
    for n in range(500):
        registry.on_status(f"invented-{n}", "x" * 10_000, 1.0)
    for n in range(500):  # invented names that heartbeat fill the room, then are refused
        registry.on_heartbeat(f"beating-{n}", {"interval_s": 1e12}, 1.0)
        registry.on_status(f"beating-{n}", "online", 1.0)
    snapshot = registry.snapshot(2.0)
    assert len(snapshot) == MAX_SERVICES
    assert {"bic-gateway", "wican-soc"} <= set(snapshot)
    assert all(len(s["status"] or "") < 80 for s in snapshot.values())
    registry.on_status("wican-soc", "online", 3.0)
    assert registry.snapshot(3.0)["wican-soc"]["status"] == "online"


def test_bounded_map_refuses_or_replaces_as_told():
    refusing = BoundedMap(2)
    refusing["a"], refusing["b"], refusing["c"] = 1, 2, 3
    assert dict(refusing) == {"a": 1, "b": 2} and refusing.refused == 1
    refusing["a"] = 10  # an existing key is always updated
    assert refusing["a"] == 10
    dropping = BoundedMap(2, may_drop=lambda key, _value: key != "keep")
    dropping["keep"], dropping["x"], dropping["y"] = 1, 2, 3
    assert list(dropping) == ["keep", "y"] and dropping.dropped == 1
    assert dropping.setdefault("z", 4) == 4 and "y" not in dropping
    with pytest.raises(ValueError):
        BoundedMap(0)


@pytest.mark.parametrize(
    ("register", "value", "allowed"),
    [
        ("VOUT_SET", 55.0, True),
        ("VOUT_SET", 56.5, False),  # in the model range, above the battery maximum
        ("VOUT_SET", 65.0, False),  # the cvset 65
        ("REVERSE_VOUT_SET", 47.0, True),
        ("REVERSE_VOUT_SET", 45.0, False),  # below the battery minimum
        ("IOUT_SET", 10.0, True),
        ("IOUT_SET", 200.0, False),  # beyond the model's current
        ("REVERSE_IOUT_SET", 10.0, True),
    ],
)
def test_the_bus_check_of_the_stack_test_can_fail(register, value, allowed):
    assert (out_of_bounds(register, to_raw(register, value)) is None) is allowed


def test_a_choice_outside_its_values_is_flagged():
    assert out_of_bounds("DIRECTION_CTRL", 1) is None
    assert out_of_bounds("DIRECTION_CTRL", 7) is not None


@pytest.mark.parametrize("level", ODD_LEVELS + ["", "1000", "x"])
def test_odd_unit_levels_are_not_command_topics(level):
    assert parse_set_topic("canbridge", f"canbridge/bic/{level}/set/power") is None


def test_plain_unit_levels_still_are():
    assert parse_set_topic("canbridge", "canbridge/bic/63/set/cmd") == (63, "cmd")


@pytest.mark.parametrize(
    "message",
    [
        b'{"bus": "' + b"x" * 10_000 + b'", "type": "rx", "frame": []}',
        b'{"bus": "0", "type": "' + b"t" * 10_000 + b'", "frame": []}',
        b'{"bus": "0", "type": "rx", "frame": [{"id": "'
        + b"i" * 10_000
        + b'", "dlc": 0, "extd": false, "data": []}]}',
    ],
)
def test_wican_errors_quote_a_short_part_of_the_input(message):
    with pytest.raises(ValueError) as info:
        parse_rx(message)
    assert len(str(info.value)) < ECHO_CHARS
