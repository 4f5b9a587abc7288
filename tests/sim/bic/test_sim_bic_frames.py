"""The simulator's own frame description (meanwell.dbc) against the manual's worked examples and
frames derived from its encoding rules, byte for byte."""

from __future__ import annotations

import pytest

from services.sim.bic import frames
from services.sim.bic.frames import FrameProblem, parse_request

BIC = frames.family("BIC")
NPB = frames.family("NPB")


@pytest.mark.parametrize(
    ("can_id", "data", "address", "register", "raw"),
    [
        (0x0C0300, "2000B80B", 0, "VOUT_SET", 3000),  # manual M1: 30.00 V
        (0x0C0301, "0000", 1, "OPERATION", None),  # M2: read OPERATION of unit 1
        (0x0C0300, "C2000300", 0, "SYSTEM_CONFIG", 0x0003),  # M3
        (0x0C0300, "3000D007", 0, "IOUT_SET", 2000),  # M5: 20.00 A
        (0x0C0300, "3001D007", 0, "REVERSE_IOUT_SET", 2000),  # M6: a positive magnitude
        (0x0C0300, "40010100", 0, "BIDIRECTIONAL_CONFIG", 1),  # M8
        (0x0C0300, "C2000304", 0, "SYSTEM_CONFIG", 0x0403),  # D11
        (0x0C0303, "000101", 3, "DIRECTION_CTRL", 1),  # D13
        (0x0C03FF, "000000", None, "OPERATION", 0),  # D16: broadcast
    ],
)
def test_requests_decode_like_the_manual(can_id, data, address, register, raw):
    request = parse_request(BIC, can_id, bytes.fromhex(data))
    assert (request.address, request.register.name, request.raw) == (address, register, raw)


@pytest.mark.parametrize(
    ("register", "raw", "frame"),
    [
        ("READ_TEMPERATURE_1", 129, "62008100"),  # real capture R1: 12.9 degC
        ("OPERATION", 1, "000001"),  # M2's answer
        ("IOUT_SET", 2000, "3000D007"),  # M7
        ("READ_VOUT", 2400, "60006009"),  # M9
        ("READ_IOUT", -1234, "61002EFB"),  # D1: two's complement
        ("READ_IOUT", 21600, "61006054"),  # D2: not negative
        ("READ_TEMPERATURE_1", -50, "6200CEFF"),  # D3
        ("READ_VIN", 2305, "50000109"),  # D4
        (
            "SCALING_FACTOR",
            int.from_bytes(bytes.fromhex("557606000000"), "little"),
            "C000557606000000",
        ),  # D6  # fmt: skip
        ("MFR_LOCATION_B0B2", frames.text_raw("TW", 3), "85005457 20".replace(" ", "")),
        ("MFR_ID_B0B5", frames.text_raw("MEANWE", 6), "80004D45414E5745"),  # M10
    ],
)
def test_replies_encode_like_the_manual(register, raw, frame):
    reply_id, data = frames.encode_reply(BIC, 0, BIC.registers[register], raw)
    assert reply_id == 0x0C0200 and data == bytes.fromhex(frame)


def test_register_sizes_and_signs_come_from_the_dbc():
    regs = BIC.registers
    assert (regs["OPERATION"].size, regs["DIRECTION_CTRL"].size, regs["VOUT_SET"].size) == (1, 1, 2)
    assert regs["MFR_LOCATION_B0B2"].size == 3 and regs["MFR_SERIAL_B6B11"].size == 6
    assert regs["READ_IOUT"].signed and regs["READ_TEMPERATURE_1"].signed
    assert not regs["READ_VOUT"].signed and regs["READ_VIN"].scale == 0.1
    assert regs["READ_VOUT"].writable is False and regs["VOUT_SET"].writable is True


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("99 00", "unknown_command"),
        ("6000 6009", "read_only"),  # READ_VOUT cannot be written
        ("8000 4D45414E5745", "read_only"),  # MFR_* treated as read-only
        ("2000 B8", "malformed"),  # a word register with one byte
        ("0000 0100", "malformed"),  # OPERATION with two bytes
        ("20", "malformed"),
    ],
)
def test_requests_the_unit_cannot_act_on_name_the_violation(data, kind):
    with pytest.raises(FrameProblem) as problem:
        parse_request(BIC, 0x0C0300, bytes.fromhex(data.replace(" ", "")))
    assert problem.value.kind == kind


def test_npb_has_its_own_identifiers_and_register_set():
    request = parse_request(NPB, 0x0C0103, bytes.fromhex("B4008408"))  # D18: CURVE_CONFIG
    assert (request.address, request.register.name, request.raw) == (3, "CURVE_CONFIG", 0x0884)
    assert frames.encode_reply(NPB, 3, NPB.registers["CHG_STATUS"], 2) == (
        0x0C0003,
        bytes.fromhex("B8000200"),  # D17
    )
    assert "DIRECTION_CTRL" not in NPB.registers and "READ_FAN_SPEED_1" not in NPB.registers
    with pytest.raises(FrameProblem, match="not a request"):
        parse_request(NPB, 0x0C0300, bytes.fromhex("0000"))
