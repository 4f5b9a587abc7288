from decimal import Decimal

import pytest

from services.bic_gateway.codec import (
    BIC_IDS,
    DOCUMENTED_SCALING,
    FACTOR_CODES,
    MAX_ADDRESS,
    NPB_IDS,
    BadLength,
    EchoMismatch,
    Frame,
    FrameError,
    NotAResponse,
    ScalingFactors,
    broadcast_write,
    decode_request,
    decode_response,
    encode_read,
    encode_write,
    from_raw,
    parse_scaling,
    quantise,
    raw_bounds,
    read_request,
    resolve_scaling,
    to_raw,
    write_request,
)
from services.bic_gateway.registers import REGISTERS, Kind, by_name


def frame(text: str) -> Frame:
    """Parse a candump-style frame: ``000C0300 [4] 20 00 B8 0B``."""
    ident, dlc, *data = text.split()
    payload = bytes.fromhex("".join(data))
    assert int(dlc.strip("[]")) == len(payload)
    return Frame(int(ident, 16), payload)


# --- docs/protocol-bic2200.md#test-vectors: requests (controller -> unit) ---------------------

# (vector, candump frame, address, register, engineering value or raw for non-numeric)
WRITE_VECTORS = [
    ("M1", "000C0300 [4] 20 00 B8 0B", 0, "VOUT_SET", 30.00),
    ("M3", "000C0300 [4] C2 00 03 00", 0, "SYSTEM_CONFIG", 0x0003),
    ("M4", "000C0300 [4] 20 00 70 17", 0, "VOUT_SET", 60.00),
    ("M5", "000C0300 [4] 30 00 D0 07", 0, "IOUT_SET", 20.00),
    ("M6", "000C0300 [4] 30 01 D0 07", 0, "REVERSE_IOUT_SET", 20.00),
    ("M8", "000C0300 [4] 40 01 01 00", 0, "BIDIRECTIONAL_CONFIG", 0x0001),
    ("D11", "000C0300 [4] C2 00 03 04", 0, "SYSTEM_CONFIG", 0x0403),
    ("D12", "000C0300 [4] C2 00 05 02", 0, "SYSTEM_CONFIG", 0x0205),
    ("D13", "000C0303 [3] 00 01 01", 3, "DIRECTION_CTRL", 1),
    ("D14", "000C0300 [4] 20 01 F8 11", 0, "REVERSE_VOUT_SET", 46.00),
    ("D15", "000C0300 [4] 30 00 2D 00", 0, "IOUT_SET", 0.45),
]


def _raw_for(name: str, value: float) -> int:
    register = by_name(name)
    return to_raw(register, value) if register.kind is Kind.NUMBER else int(value)


@pytest.mark.parametrize(("vector", "text", "address", "name", "value"), WRITE_VECTORS)
def test_write_vectors_encode(vector, text, address, name, value):
    assert write_request(address, name, _raw_for(name, value)) == frame(text), vector


@pytest.mark.parametrize(("vector", "text", "address", "name", "value"), WRITE_VECTORS)
def test_write_vectors_decode(vector, text, address, name, value):
    parsed = frame(text)
    request = decode_request(parsed.arbitration_id, parsed.data)
    assert request.is_write
    assert request.address == address
    assert request.register.name == name
    raw = int.from_bytes(request.raw, "little")
    assert raw == _raw_for(name, value), vector
    if request.register.kind is Kind.NUMBER:
        assert from_raw(name, raw) == value


def test_d16_broadcast_operation_off():
    assert broadcast_write("OPERATION", 0) == frame("000C03FF [3] 00 00 00")
    request = decode_request(0x000C03FF, bytes.fromhex("000000"))
    assert request.address is None
    assert request.register.name == "OPERATION"
    assert request.raw == b"\x00"


# (vector, request frame, address, register)
READ_VECTORS = [
    ("R1", "000C0300 [2] 62 00", 0, "READ_TEMPERATURE_1"),
    ("M2", "000C0301 [2] 00 00", 1, "OPERATION"),
    ("M7", "000C0300 [2] 30 00", 0, "IOUT_SET"),
]


@pytest.mark.parametrize(("vector", "text", "address", "name"), READ_VECTORS)
def test_read_request_vectors(vector, text, address, name):
    assert read_request(address, name) == frame(text), vector
    parsed = frame(text)
    request = decode_request(parsed.arbitration_id, parsed.data)
    assert (request.address, request.register.name, request.is_write) == (address, name, False)


# --- docs/protocol-bic2200.md#test-vectors: responses (unit -> controller) --------------------

RESPONSE_VECTORS = [
    ("R1", "000C0200 [4] 62 00 81 00", 0, "READ_TEMPERATURE_1", 12.9),
    ("M2", "000C0201 [3] 00 00 01", 1, "OPERATION", 1),
    ("M7", "000C0200 [4] 30 00 D0 07", 0, "IOUT_SET", 20.00),
    ("M9", "000C0200 [4] 60 00 60 09", 0, "READ_VOUT", 24.00),
    ("D1", "000C0200 [4] 61 00 2E FB", 0, "READ_IOUT", -12.34),
    ("D2", "000C0200 [4] 61 00 60 54", 0, "READ_IOUT", 216.00),
    ("D3", "000C0200 [4] 62 00 CE FF", 0, "READ_TEMPERATURE_1", -5.0),
    ("D4", "000C0200 [4] 50 00 01 09", 0, "READ_VIN", 230.5),
    ("D5", "000C0200 [4] 70 00 AC 0D", 0, "READ_FAN_SPEED_1", 3500),
    ("D7", "000C0200 [4] 40 00 60 00", 0, "FAULT_STATUS", 0x0060),
    ("D8", "000C0200 [4] 40 00 00 01", 0, "FAULT_STATUS", 0x0100),
    ("D9", "000C0200 [4] C1 00 27 00", 0, "SYSTEM_STATUS", 0x0027),
    ("D10", "000C0200 [4] C1 00 47 00", 0, "SYSTEM_STATUS", 0x0047),
]


@pytest.mark.parametrize(("vector", "text", "address", "name", "value"), RESPONSE_VECTORS)
def test_response_vectors(vector, text, address, name, value):
    parsed = frame(text)
    code = by_name(name).code
    response = decode_response(
        parsed.arbitration_id, parsed.data, expect_code=code, expect_address=address
    )
    assert response.address == address
    assert response.register.name == name
    assert response.raw == parsed.data[2:]
    assert response.value == value, vector


def test_r1_real_capture_round_trip():
    request = read_request(0, "READ_TEMPERATURE_1")
    assert str(request) == "000C0300 [2] 62 00"
    response = decode_response(0x000C0200, bytes.fromhex("62008100"), expect_code=0x0062)
    assert response.raw_int == 129
    assert response.value == 12.9


def test_d6_scaling_factor_response():
    parsed = frame("000C0200 [8] C0 00 55 76 06 00 00 00")
    response = decode_response(parsed.arbitration_id, parsed.data, expect_code=0x00C0)
    assert response.value == ScalingFactors(
        vout=Decimal("0.01"),
        iout=Decimal("0.01"),
        vin=Decimal("0.1"),
        fan=Decimal("1"),
        temperature=Decimal("0.1"),
    )
    assert response.value == DOCUMENTED_SCALING


@pytest.mark.parametrize(
    ("name", "data", "text"),
    [
        ("MFR_ID_B0B5", "4D 45 41 4E 57 45", "MEANWE"),  # M10
        ("MFR_ID_B6B11", "4C 4C 20 20 20 20", "LL    "),  # M10
        ("MFR_MODEL_B0B5", "42 49 43 2D 32 32", "BIC-22"),  # M11
        ("MFR_MODEL_B6B11", "30 30 2D 32 34 20", "00-24 "),  # M11
        ("MFR_DATE_B0B5", "31 38 30 31 30 31", "180101"),  # M13
        ("MFR_SERIAL_B0B5", "31 38 30 31 30 31", "180101"),  # M13
        ("MFR_SERIAL_B6B11", "30 30 30 30 30 31", "000001"),  # M13
    ],
)
def test_mfr_text_responses_keep_padding(name, data, text):
    code = by_name(name).code
    payload = code.to_bytes(2, "little") + bytes.fromhex(data)
    response = decode_response(0x000C0200, payload, expect_code=code)
    assert response.value == text


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("000C0200 [8] 84 00 FE 69 FF FF FF FF", "FE69FFFFFFFF"),  # M12
        ("000C0200 [8] 84 00 0E 0D FF FF FF FF", "0E0DFFFFFFFF"),  # D19
    ],
)
def test_revision_responses_return_raw_bytes(text, raw):
    parsed = frame(text)
    response = decode_response(parsed.arbitration_id, parsed.data, expect_code=0x0084)
    assert response.value == bytes.fromhex(raw)


def test_d17_d18_npb_frames_are_not_bic_frames():
    # D17: NPB read of CHG_STATUS from address 3 and its reply; D18: NPB CURVE_CONFIG write.
    d17_request, d17_reply = frame("000C0103 [2] B8 00"), frame("000C0003 [4] B8 00 02 00")
    d18 = frame("000C0103 [4] B4 00 84 08")
    assert NPB_IDS.request_id(3) == d17_request.arbitration_id == d18.arbitration_id
    assert NPB_IDS.response_id(3) == d17_reply.arbitration_id
    assert NPB_IDS.address_of_response(d17_reply.arbitration_id) == 3
    with pytest.raises(NotAResponse):
        decode_response(d17_reply.arbitration_id, d17_reply.data)
    with pytest.raises(FrameError):
        decode_request(d18.arbitration_id, d18.data)
    # With the NPB ids the NPB's own registers decode (D17: CHG_STATUS 0x0002 = CC stage).
    reply = decode_response(d17_reply.arbitration_id, d17_reply.data, ids=NPB_IDS)
    assert (reply.address, reply.register.name, reply.value) == (3, "CHG_STATUS", 0x0002)
    request = decode_request(d18.arbitration_id, d18.data, ids=NPB_IDS)
    assert (request.address, request.register.name, request.raw) == (3, "CURVE_CONFIG", b"\x84\x08")


# --- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize("address", range(8))
def test_ids_for_standard_addresses(address):
    assert BIC_IDS.request_id(address) == 0x000C0300 + address
    assert BIC_IDS.response_id(address) == 0x000C0200 + address
    assert BIC_IDS.address_of_response(0x000C0200 + address) == address
    assert read_request(address, "READ_VOUT").arbitration_id == 0x000C0300 + address


def test_extended_addressing_up_to_63():
    assert BIC_IDS.request_id(MAX_ADDRESS) == 0x000C033F
    with pytest.raises(ValueError):
        BIC_IDS.request_id(64)
    with pytest.raises(ValueError):
        BIC_IDS.response_id(-1)
    with pytest.raises(TypeError):
        BIC_IDS.request_id(True)


def test_broadcast_id():
    assert BIC_IDS.broadcast_id == 0x000C03FF
    assert NPB_IDS.broadcast_id == 0x000C01FF


@pytest.mark.parametrize(
    "arbitration_id",
    [0x000C0300, 0x000C0301, 0x000C03FF, 0x000C0000, 0x000C0103, 0x000C0240, 0x000C01FF, 0x123],
)
def test_wrong_id_is_rejected(arbitration_id):
    with pytest.raises(NotAResponse):
        decode_response(arbitration_id, bytes.fromhex("60006009"))


def test_decode_request_rejects_response_ids():
    with pytest.raises(FrameError):
        decode_request(0x000C0200, bytes.fromhex("6000"))


# --- echo / length checks ----------------------------------------------------------------------


def test_wrong_echoed_code_is_rejected_not_reattributed():
    # A stale READ_VOUT reply arriving while we wait for READ_IOUT.
    with pytest.raises(EchoMismatch, match="0x0060"):
        decode_response(0x000C0200, bytes.fromhex("60006009"), expect_code=0x0061)


def test_wrong_echoed_code_rejected_even_for_unknown_codes():
    with pytest.raises(EchoMismatch):
        decode_response(0x000C0200, bytes.fromhex("99006009"), expect_code=0x0060)


def test_wrong_sender_is_rejected():
    with pytest.raises(EchoMismatch, match="address 1"):
        decode_response(0x000C0201, bytes.fromhex("60006009"), expect_address=0)


def test_unknown_code_is_rejected():
    with pytest.raises(FrameError, match="0x0099"):
        decode_response(0x000C0200, bytes.fromhex("99006009"))


@pytest.mark.parametrize(
    "data",
    ["62", "", "620081", "6200810000", "C000557606", "0000", "00000100"],
)
def test_bad_lengths_are_rejected(data):
    with pytest.raises(BadLength):
        decode_response(0x000C0200, bytes.fromhex(data))


def test_bad_write_length_is_rejected():
    with pytest.raises(BadLength):
        decode_request(0x000C0300, bytes.fromhex("2000B8"))


def test_write_to_read_only_register_in_a_request_is_rejected():
    with pytest.raises(FrameError, match="read-only"):
        decode_request(0x000C0300, bytes.fromhex("6000B80B"))


# --- int16 sign --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "value"),
    [
        ("READ_IOUT", "FFFF", -0.01),
        ("READ_IOUT", "0080", -327.68),
        ("READ_IOUT", "FF7F", 327.67),
        ("READ_IOUT", "204E", 200.00),  # 20000: the old ">20000" heuristic's edge
        ("READ_IOUT", "214E", 200.01),
        ("READ_TEMPERATURE_1", "70FE", -40.0),
        ("READ_TEMPERATURE_1", "4C04", 110.0),
        ("READ_VOUT", "FFFF", 655.35),  # unsigned
        ("READ_FAN_SPEED_2", "A861", 25000),
    ],
)
def test_sign_handling(name, data, value):
    code = by_name(name).code
    response = decode_response(0x000C0200, code.to_bytes(2, "little") + bytes.fromhex(data))
    assert response.value == value
    assert response.raw_int == to_raw(name, value)


# --- every register round-trips ----------------------------------------------------------------


def _sample_data(size: int) -> bytes:
    return bytes((0x11 * (i + 1)) & 0xFF for i in range(size))


@pytest.mark.parametrize("register", REGISTERS, ids=lambda r: r.name)
def test_every_register_read_round_trip(register):
    assert encode_read(register) == register.code.to_bytes(2, "little")
    data = _sample_data(register.size)
    if register.kind is Kind.SCALING:
        data = bytes.fromhex("557606000000")
    response = decode_response(0x000C0205, encode_read(register) + data, expect_code=register.code)
    assert response.address == 5
    assert response.code == register.code
    assert response.raw == data


@pytest.mark.parametrize("register", [r for r in REGISTERS if r.writable], ids=lambda r: r.name)
def test_every_writable_register_write_round_trip(register):
    low, high = raw_bounds(register)
    for raw in {low, 1, high, high // 3}:
        payload = encode_write(register, raw)
        assert len(payload) == 2 + register.size
        request = decode_request(0x000C0307, payload)
        assert request.address == 7
        assert request.register is register
        assert int.from_bytes(request.raw, "little", signed=register.signed) == raw
        # What the unit would answer to a read-back decodes to the same raw value.
        response = decode_response(0x000C0207, payload, expect_code=register.code)
        assert response.raw_int == raw


@pytest.mark.parametrize(
    "register", [r for r in REGISTERS if r.kind is Kind.NUMBER], ids=lambda r: r.name
)
def test_every_numeric_register_physical_round_trip(register):
    low, high = raw_bounds(register)
    for raw in (low, low + 1, 0, 1, 2999, 3000, high - 1, high):
        assert to_raw(register, from_raw(register, raw)) == raw


# --- encode errors -----------------------------------------------------------------------------


def test_encode_write_rejects_read_only_register():
    with pytest.raises(ValueError, match="read-only"):
        encode_write("READ_VOUT", 100)


@pytest.mark.parametrize(
    ("name", "raw"), [("VOUT_SET", 65536), ("VOUT_SET", -1), ("OPERATION", 256)]
)
def test_encode_write_rejects_unrepresentable_raw(name, raw):
    with pytest.raises(ValueError):
        encode_write(name, raw)


def test_encode_write_rejects_non_int_raw():
    with pytest.raises(TypeError):
        encode_write("OPERATION", True)
    with pytest.raises(TypeError):
        encode_write("VOUT_SET", 30.0)


def test_encode_write_is_little_endian():
    assert encode_write("VOUT_SET", 0x1234) == bytes.fromhex("20003412")
    assert encode_write("DIRECTION_CTRL", 1) == bytes.fromhex("000101")


# --- physical <-> raw --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "raw"),
    [
        ("VOUT_SET", 30.0, 3000),
        ("VOUT_SET", 46, 4600),
        ("VOUT_SET", 52.004, 5200),
        ("VOUT_SET", 52.005, 5201),  # ties round away from zero
        ("IOUT_SET", 0.455, 46),
        ("IOUT_SET", 0.1 + 0.2, 30),
        ("READ_IOUT", -12.345, -1235),
        ("READ_TEMPERATURE_1", -5.05, -51),
        ("READ_VIN", 230.5, 2305),
    ],
)
def test_to_raw_rounding(name, value, raw):
    assert to_raw(name, value) == raw


def test_quantise_returns_value_the_unit_holds():
    assert quantise("IOUT_SET", 12.3456) == 12.35
    assert quantise("VOUT_SET", 53.999) == 54.0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True])
def test_to_raw_rejects_non_finite(value):
    with pytest.raises(ValueError):
        to_raw("VOUT_SET", value)


def test_to_raw_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        to_raw("VOUT_SET", 700.0)
    with pytest.raises(ValueError, match="does not fit"):
        to_raw("VOUT_SET", -1.0)


def test_to_raw_refuses_non_numeric_registers():
    with pytest.raises(TypeError):
        to_raw("SYSTEM_CONFIG", 3)


# --- SCALING_FACTOR ----------------------------------------------------------------------------


def test_factor_codes():
    assert dict(FACTOR_CODES) == {
        4: Decimal("0.001"),
        5: Decimal("0.01"),
        6: Decimal("0.1"),
        7: Decimal("1"),
        8: Decimal("10"),
        9: Decimal("100"),
    }


def test_parse_scaling_unsupported_and_invalid_codes_are_none():
    factors = parse_scaling(bytes.fromhex("05A0000000"))  # VOUT 0.01, IOUT 0x0, VIN 0x0, FAN 0xA
    assert factors.vout == Decimal("0.01")
    assert factors.iout is None
    assert factors.vin is None
    assert factors.fan is None
    assert factors.temperature is None


def test_resolve_scaling_falls_back_when_read_failed():
    factors, warnings = resolve_scaling(None)
    assert factors == DOCUMENTED_SCALING
    assert warnings == ["SCALING_FACTOR read failed; using documented factors"]


def test_resolve_scaling_falls_back_for_truncated_data():
    factors, warnings = resolve_scaling(b"\x55")
    assert factors == DOCUMENTED_SCALING
    assert "using documented factors" in warnings[0]


def test_resolve_scaling_matching_unit_has_no_warnings():
    assert resolve_scaling(bytes.fromhex("557606000000")) == (DOCUMENTED_SCALING, [])


def test_resolve_scaling_uses_unit_factor_with_warning_and_fills_unsupported():
    # VOUT 0.1 instead of 0.01; FAN reported unsupported (code 0).
    factors, warnings = resolve_scaling(bytes.fromhex("560606000000"))
    assert factors.vout == Decimal("0.1")
    assert factors.fan == DOCUMENTED_SCALING.fan
    assert factors.iout == Decimal("0.01")
    assert len(warnings) == 2
    assert any(w.startswith("vout:") for w in warnings)
    assert any(w.startswith("fan:") for w in warnings)
    assert factors.differences(DOCUMENTED_SCALING) == ["vout: 0.1 vs 0.01"]


def test_decode_and_encode_use_the_given_scaling():
    factors, _ = resolve_scaling(bytes.fromhex("557706000000"))  # VIN factor 1
    response = decode_response(0x000C0200, bytes.fromhex("50000109"), scaling=factors)
    assert response.value == 2305.0
    assert to_raw("READ_VIN", 230.0, factors) == 230


def test_conversion_without_factor_raises():
    unsupported = ScalingFactors(None, None, None, None, None)
    with pytest.raises(ValueError, match="no factor"):
        from_raw("READ_VOUT", 100, unsupported)
