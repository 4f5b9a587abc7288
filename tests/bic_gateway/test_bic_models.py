from datetime import date

import pytest

from services.bic_gateway.codec import decode_response
from services.bic_gateway.models import (
    MODELS,
    UnknownModel,
    decode_date,
    decode_location,
    decode_manufacturer,
    decode_model_name,
    decode_revisions,
    decode_serial,
    decode_text,
    identify,
)


@pytest.mark.parametrize(
    ("text", "name", "nominal"),
    [
        ("BIC-2200-12", "BIC-2200-12", 12),
        ("BIC-2200-24 ", "BIC-2200-24", 24),
        ("BIC-2200-48\x00", "BIC-2200-48", 48),
        (" bic-2200-96  ", "BIC-2200-96", 96),
    ],
)
def test_identify_known_models(text, name, nominal):
    model = identify(text)
    assert model.name == name
    assert model.nominal_voltage == nominal


@pytest.mark.parametrize(
    "text",
    ["", "NPB-1200-36", "NPB-900-24", "BIC-2200-36", "BIC-2200-480", "BIC-2200-24X", "BIC-2200"],
)
def test_identify_unknown_models_fail_clearly(text):
    with pytest.raises(UnknownModel, match="supported: BIC-2200-12, BIC-2200-24"):
        identify(text)


def test_m11_model_from_registers_identifies_24v():
    first = decode_response(0x000C0200, bytes.fromhex("8200 4249432D3232"))
    second = decode_response(0x000C0200, bytes.fromhex("8300 30302D323420"))
    name = decode_model_name(first.raw, second.raw)
    assert name == "BIC-2200-24"
    assert identify(first.value + second.value) is MODELS["BIC-2200-24"]


def test_m10_manufacturer():
    assert decode_manufacturer(bytes.fromhex("4D45414E5745"), bytes.fromhex("4C4C20202020")) == (
        "MEANWELL"
    )


def test_m12_revisions():
    assert decode_revisions(bytes.fromhex("FE69FFFFFFFF")) == (
        "R25.4",
        "R10.5",
        None,
        None,
        None,
        None,
    )


def test_d19_revisions():
    assert decode_revisions(bytes.fromhex("0E0DFFFFFFFF"))[:3] == ("R01.4", "R01.3", None)


def test_revision_zero():
    assert decode_revisions(b"\x00") == ("R00.0",)


def test_m13_date_and_serial():
    assert decode_date(bytes.fromhex("313830313031")) == date(2018, 1, 1)
    serial = decode_serial(bytes.fromhex("313830313031"), bytes.fromhex("303030303031"))
    assert serial == "180101000001"


@pytest.mark.parametrize("text", [b"181301", b"180230", b"18-1-1", b"1801"])
def test_invalid_dates_raise(text):
    with pytest.raises(ValueError, match="manufacture date"):
        decode_date(text)


def test_location_and_padding():
    assert decode_location(b"TW\x00") == "TW"
    assert decode_text(b"AB  ", b"\x00\x00") == "AB"


def test_non_ascii_bytes_are_replaced_not_raised():
    assert decode_text(b"A\xffB") == "A\ufffdB"


# docs/protocol-bic2200.md#setpoint-ranges (battery mode): (min, max) per model and register.
RANGES: dict[int, dict[str, tuple[float, float]]] = {
    12: {"VOUT_SET": (10, 15), "IOUT_SET": (1.8, 180), "REVERSE_VOUT_SET": (10, 15),
         "REVERSE_IOUT_SET": (1.8, 153)},
    24: {"VOUT_SET": (19, 28), "IOUT_SET": (0.9, 90), "REVERSE_VOUT_SET": (19, 28),
         "REVERSE_IOUT_SET": (0.9, 76.5)},
    48: {"VOUT_SET": (38, 65), "IOUT_SET": (0.45, 45), "REVERSE_VOUT_SET": (38, 65),
         "REVERSE_IOUT_SET": (0.45, 38.3)},
    96: {"VOUT_SET": (76, 112), "IOUT_SET": (0.25, 22.5), "REVERSE_VOUT_SET": (76, 112),
         "REVERSE_IOUT_SET": (0.25, 19.1)},
}  # fmt: skip


@pytest.mark.parametrize(
    ("nominal", "register"), [(n, r) for n, regs in RANGES.items() for r in regs]
)
def test_setpoint_ranges(nominal, register):
    model = identify(f"BIC-2200-{nominal}")
    value_range = model.setpoint_range(register)
    assert (value_range.minimum, value_range.maximum) == RANGES[nominal][register]


def test_non_setpoint_has_no_setpoint_range():
    with pytest.raises(KeyError):
        MODELS["BIC-2200-48"].setpoint_range("READ_VOUT")
    assert MODELS["BIC-2200-48"].measurement_range("READ_VOUT").maximum == 65


@pytest.mark.parametrize(
    ("name", "trickle"),
    [("BIC-2200-12", 9.0), ("BIC-2200-24", 4.5), ("BIC-2200-48", 2.25), ("BIC-2200-96", 1.125)],
)
def test_reverse_trickle_is_5_percent_of_rated(name, trickle):
    assert MODELS[name].reverse_trickle_a == pytest.approx(trickle)
