"""Decoding reply payloads with a profile."""

import pytest

from services.wican_soc.decode import DecodeResult, Rejected, decode_values
from services.wican_soc.profiles import Profile


def make_profile(
    values: list[dict], request: str = "22 02 8C", soc_is: str = "battery-controller"
) -> Profile:
    return Profile.model_validate(
        {
            "name": "Test car",
            "confidence": "single-source",
            "sources": [{"project": "unit test", "file": "-", "confirms": "nothing"}],
            "no_second_source": "a test profile",
            "soc_is": soc_is,
            "request_id": 0x7E5,
            "response_id": 0x7ED,
            "request": request,
            "values": values,
            "test_vector": {"frames": ["04 62 02 8C C8"], "expected": {"soc": 80.0}},
        }
    )


PROFILE = make_profile(
    [
        {"name": "soc", "unit": "%", "expr": "P3 / 2.5"},
        {"name": "hv_voltage", "unit": "V", "expr": "be(P4, P5) / 10", "min": 100, "max": 900},
        {"name": "battery_temp", "unit": "C", "expr": "signed(P6, 8)", "min": -40, "max": 80},
    ]
)


def test_decodes_all_values_in_profile_order() -> None:
    result = decode_values(PROFILE, bytes.fromhex("62 02 8C C8 0E 10 E7"))
    assert result == DecodeResult({"soc": 80.0, "hv_voltage": 360.0, "battery_temp": -25.0}, [])
    assert list(result.values) == ["soc", "hv_voltage", "battery_temp"]
    assert result.soc == 80.0
    assert not result.response_pending


def test_implausible_values_are_rejected_one_by_one() -> None:
    result = decode_values(PROFILE, bytes.fromhex("62 02 8C FA 00 05 64"))
    assert result.values == {"soc": 100.0}
    assert result.rejected == [
        Rejected("hv_voltage", "implausible: 0.5 V outside 100..900"),
        Rejected("battery_temp", "implausible: 100 C outside -40..80"),
    ]


def test_soc_above_100_is_implausible_by_default() -> None:
    result = decode_values(PROFILE, bytes.fromhex("62 02 8C FF 0E 10 00"))
    assert result.soc is None
    assert result.rejected[0] == Rejected("soc", "implausible: 102 % outside 0..100")
    assert result.values == {"hv_voltage": 360.0, "battery_temp": 0.0}


def test_soc_range_boundaries_are_plausible() -> None:
    assert decode_values(PROFILE, bytes.fromhex("62 02 8C 00 0E 10 00")).soc == 0.0
    assert decode_values(PROFILE, bytes.fromhex("62 02 8C FA 0E 10 00")).soc == 100.0


def test_short_payload_rejects_only_values_beyond_it() -> None:
    result = decode_values(PROFILE, bytes.fromhex("62 02 8C C8 0E"))
    assert result.values == {"soc": 80.0}
    assert result.rejected == [
        Rejected("hv_voltage", "payload too short: needs byte P5, got 5 bytes"),
        Rejected("battery_temp", "payload too short: needs byte P6, got 5 bytes"),
    ]


@pytest.mark.parametrize(
    ("payload", "reason", "pending"),
    [
        ("7F 22 31", "negative response 0x31 requestOutOfRange", False),
        ("7F 22 22", "negative response 0x22 conditionsNotCorrect", False),
        ("7F 22 11 00 00", "negative response 0x11 serviceNotSupported", False),
        ("7F 22 78", "negative response 0x78 requestCorrectlyReceivedResponsePending", True),
        ("7F 21 12", "negative response 0x12 subFunctionNotSupported to service 0x21", False),
        ("7F 22 99", "negative response 0x99 unknownNRC(0x99)", False),
    ],
)
def test_negative_response_rejects_every_value(payload: str, reason: str, pending: bool) -> None:
    result = decode_values(PROFILE, bytes.fromhex(payload))
    assert result.values == {}
    assert result.rejected == [
        Rejected("soc", reason),
        Rejected("hv_voltage", reason),
        Rejected("battery_temp", reason),
    ]
    assert result.response_pending is pending


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("61 02 8C C8 0E 10 00", "unexpected response: expected 62 02 8c, got 61 02 8c"),
        ("62 02 8D C8 0E 10 00", "unexpected response: expected 62 02 8c, got 62 02 8d"),
        ("62 02", "unexpected response: expected 62 02 8c, got 62 02"),
        ("7F 22", "unexpected response: expected 62 02 8c, got 7f 22"),
        ("", "empty payload"),
    ],
)
def test_wrong_response_rejects_every_value(payload: str, reason: str) -> None:
    result = decode_values(PROFILE, bytes.fromhex(payload))
    assert result.values == {}
    assert {rejected.reason for rejected in result.rejected} == {reason}
    assert len(result.rejected) == 3


def test_one_byte_identifier_of_service_21() -> None:
    profile = make_profile([{"name": "soc", "unit": "%", "expr": "P3 / 2 - 5"}], request="21 01")
    assert decode_values(profile, bytes.fromhex("61 01 00 8C")).soc == 65.0
    assert decode_values(profile, bytes.fromhex("61 02 00 8C")).soc is None


def test_obd_mode_01_response() -> None:
    profile = make_profile(
        [{"name": "soc", "unit": "%", "expr": "P2 * 100 / 255"}], request="01 5B"
    )
    assert decode_values(profile, bytes.fromhex("41 5B 80")).soc == pytest.approx(50.196, abs=1e-3)


def test_runtime_formula_error_is_a_rejection() -> None:
    profile = make_profile(
        [
            {"name": "soc", "unit": "%", "expr": "P3 / 2.5"},
            {"name": "ratio", "unit": "", "expr": "P3 / P4"},
        ]
    )
    result = decode_values(profile, bytes.fromhex("62 02 8C C8 00"))
    assert result.values == {"soc": 80.0}
    assert result.rejected[0].name == "ratio"
    assert "division by zero" in result.rejected[0].reason


def test_non_finite_result_is_implausible_even_without_range() -> None:
    profile = make_profile(
        [
            {"name": "soc", "unit": "%", "expr": "P3 / 2.5"},
            {"name": "huge", "unit": "", "expr": "10.0 ** 64 * 10.0 ** 64 * 10.0 ** 64 * 1e200"},
        ]
    )
    result = decode_values(profile, bytes.fromhex("62 02 8C C8"))
    assert result.values == {"soc": 80.0}
    assert result.rejected[0].name == "huge"
    assert "not finite" in result.rejected[0].reason


def test_integer_results_become_floats() -> None:
    profile = make_profile([{"name": "soc", "unit": "%", "expr": "P3"}])
    value = decode_values(profile, bytes.fromhex("62 02 8C 37")).values["soc"]
    assert value == 55.0 and isinstance(value, float)


# --- clamping and derived values -------------------------------------------------------

CLAMPED = make_profile(
    [{"name": "soc", "unit": "%", "expr": "P3 * 0.6554 - 0.08", "clamp_margin": 1}]
)


@pytest.mark.parametrize(
    ("raw", "soc"),
    [(0x00, 0.0), (0x01, 0.5754), (0x98, 99.5408), (0x9A, 100.0), (0x9B, None), (0xFF, None)],
)
def test_clamp_margin_absorbs_rounding_but_not_garbage(raw: int, soc: float | None) -> None:
    result = decode_values(CLAMPED, bytes([0x62, 0x02, 0x8C, raw]))
    if soc is None:
        assert result.soc is None
        assert result.rejected[0].reason.startswith("implausible: ")
    else:
        assert result.soc == pytest.approx(soc)


DERIVED = make_profile(
    [
        {"name": "soc", "unit": "%", "expr": "min(100, P3 / 2.5 * 1.1)", "requires": ["soc_bms"]},
        {"name": "soc_bms", "unit": "%", "expr": "P3 / 2.5"},
    ],
    soc_is="dashboard",
)


def test_value_computed_from_a_rejected_one_is_rejected_too() -> None:
    good = decode_values(DERIVED, bytes.fromhex("62 02 8C C8"))
    assert good.values == {"soc": 88.0, "soc_bms": 80.0}
    garbage = decode_values(
        DERIVED, bytes.fromhex("62 02 8C FF")
    )  # 102 %: clamped soc would be 100
    assert garbage.values == {}
    assert [(r.name, r.reason) for r in garbage.rejected] == [
        ("soc_bms", "implausible: 102 % outside 0..100"),
        ("soc", "computed from rejected soc_bms"),
    ]


def test_reply_of_an_unknown_length_is_rejected_when_the_profile_lists_lengths() -> None:
    strict = PROFILE.model_copy(update={"payload_lengths": [7, 9]})
    assert decode_values(strict, bytes.fromhex("62 02 8C C8 0E 10 E7")).soc == 80.0
    result = decode_values(strict, bytes.fromhex("62 02 8C C8 0E 10 E7 00"))
    assert result.values == {}
    assert {r.reason for r in result.rejected} == {
        "reply of 8 bytes; this layout is known for 7, 9"
    }
