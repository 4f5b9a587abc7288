from decimal import Decimal

import pytest

from services.bic_gateway.registers import (
    BY_CODE,
    BY_NAME,
    NOMINAL_VOLTAGES,
    NPB_CURVE_REGISTERS,
    REGISTERS,
    Kind,
    Persistence,
    ScaleField,
    UnknownRegister,
    by_code,
    by_name,
    resolve,
)

# docs/protocol-bic2200.md#registers, restated: name, code, data bytes, writable, signed.
COMMAND_SET = [
    ("OPERATION", 0x0000, 1, True, False),
    ("VOUT_SET", 0x0020, 2, True, False),
    ("IOUT_SET", 0x0030, 2, True, False),
    ("FAULT_STATUS", 0x0040, 2, False, False),
    ("READ_VIN", 0x0050, 2, False, False),
    ("READ_VOUT", 0x0060, 2, False, False),
    ("READ_IOUT", 0x0061, 2, False, True),
    ("READ_TEMPERATURE_1", 0x0062, 2, False, True),
    ("READ_FAN_SPEED_1", 0x0070, 2, False, False),
    ("READ_FAN_SPEED_2", 0x0071, 2, False, False),
    ("MFR_ID_B0B5", 0x0080, 6, False, False),
    ("MFR_ID_B6B11", 0x0081, 6, False, False),
    ("MFR_MODEL_B0B5", 0x0082, 6, False, False),
    ("MFR_MODEL_B6B11", 0x0083, 6, False, False),
    ("MFR_REVISION_B0B5", 0x0084, 6, False, False),
    ("MFR_LOCATION_B0B2", 0x0085, 3, False, False),
    ("MFR_DATE_B0B5", 0x0086, 6, False, False),
    ("MFR_SERIAL_B0B5", 0x0087, 6, False, False),
    ("MFR_SERIAL_B6B11", 0x0088, 6, False, False),
    ("SCALING_FACTOR", 0x00C0, 6, False, False),
    ("SYSTEM_STATUS", 0x00C1, 2, False, False),
    ("SYSTEM_CONFIG", 0x00C2, 2, True, False),
    ("DIRECTION_CTRL", 0x0100, 1, True, False),
    ("REVERSE_VOUT_SET", 0x0120, 2, True, False),
    ("REVERSE_IOUT_SET", 0x0130, 2, True, False),
    ("BIDIRECTIONAL_CONFIG", 0x0140, 2, True, False),
]

SETPOINTS = ("VOUT_SET", "IOUT_SET", "REVERSE_VOUT_SET", "REVERSE_IOUT_SET")


def test_table_holds_exactly_the_reference_command_set():
    assert {(r.name, r.code) for r in REGISTERS} == {(n, c) for n, c, *_ in COMMAND_SET}
    assert len(REGISTERS) == len(COMMAND_SET)


@pytest.mark.parametrize(("name", "code", "size", "writable", "signed"), COMMAND_SET)
def test_register_facts_match_reference(name, code, size, writable, signed):
    register = by_name(name)
    assert register.code == code
    assert register.size == size
    assert register.writable is writable
    assert register.readable is True
    assert register.signed is signed
    assert by_code(code) is register


def test_names_and_codes_are_unique():
    # the NPB's curve registers share the lookups: no name or code collides with the BIC's
    assert len(BY_NAME) == len(REGISTERS) + len(NPB_CURVE_REGISTERS)
    assert len(BY_CODE) == len(REGISTERS) + len(NPB_CURVE_REGISTERS)


def test_lookup_by_name_is_case_insensitive():
    assert by_name("read_vout").code == 0x0060


def test_unknown_name_and_code_raise_with_message():
    with pytest.raises(UnknownRegister, match="CURVE_XX"):
        by_name("CURVE_XX")
    with pytest.raises(UnknownRegister, match="0x00BA"):
        by_code(0x00BA)  # after the NPB's CHG_RST_VBAT: neither family has it


def test_resolve_accepts_register_name_and_code_only():
    register = by_name("IOUT_SET")
    assert resolve(register) is register
    assert resolve("IOUT_SET") is register
    assert resolve(0x0030) is register
    with pytest.raises(TypeError):
        resolve(True)
    with pytest.raises(TypeError):
        resolve(0.5)


@pytest.mark.parametrize(
    ("name", "scale", "unit"),
    [
        ("VOUT_SET", ScaleField.VOUT, "V"),
        ("READ_VOUT", ScaleField.VOUT, "V"),
        ("REVERSE_VOUT_SET", ScaleField.VOUT, "V"),
        ("IOUT_SET", ScaleField.IOUT, "A"),
        ("READ_IOUT", ScaleField.IOUT, "A"),
        ("REVERSE_IOUT_SET", ScaleField.IOUT, "A"),
        ("READ_VIN", ScaleField.VIN, "V"),
        ("READ_TEMPERATURE_1", ScaleField.TEMPERATURE, "°C"),
        ("READ_FAN_SPEED_1", ScaleField.FAN, "rpm"),
        ("READ_FAN_SPEED_2", ScaleField.FAN, "rpm"),
    ],
)
def test_numeric_registers_name_their_scaling_field(name, scale, unit):
    register = by_name(name)
    assert register.kind is Kind.NUMBER
    assert register.scale is scale
    assert register.unit == unit


def test_only_numeric_registers_are_scaled():
    for register in REGISTERS:
        assert (register.scale is not None) == (register.kind is Kind.NUMBER), register.name


def test_persistence_classes():
    by_class = {p: {r.name for r in REGISTERS if r.persistence is p} for p in Persistence}
    assert by_class[Persistence.EEP] == set(SETPOINTS)
    assert by_class[Persistence.ALWAYS] == {"OPERATION", "SYSTEM_CONFIG", "BIDIRECTIONAL_CONFIG"}
    assert by_class[Persistence.VOLATILE] == {"DIRECTION_CTRL"}
    for register in REGISTERS:
        assert (register.persistence is Persistence.NONE) == (not register.writable)


def test_mfr_registers_are_read_only():
    for register in REGISTERS:
        if register.name.startswith("MFR_"):
            assert not register.writable, register.name


def test_choices_of_one_byte_registers():
    assert by_name("OPERATION").choice_names == {0: "off", 1: "on"}
    assert by_name("DIRECTION_CTRL").choice_names == {0: "charge", 1: "discharge"}


@pytest.mark.parametrize("name", SETPOINTS)
def test_setpoints_have_a_sane_range_for_every_model(name):
    register = by_name(name)
    for nominal in NOMINAL_VOLTAGES:
        value_range = register.range_for(nominal)
        assert value_range is not None
        assert 0 < value_range.minimum < value_range.maximum
        assert value_range.contains(value_range.default)
        # Bounds on the 0.01 grid: a value inside never rounds out of the range (limits.py).
        for bound in (value_range.minimum, value_range.maximum):
            assert Decimal(repr(bound)) % Decimal("0.01") == 0


def test_battery_mode_ranges_from_reference_section_4_2():
    assert by_name("VOUT_SET").range_for(48).minimum == 38
    assert by_name("VOUT_SET").range_for(48).maximum == 65
    assert by_name("IOUT_SET").range_for(12).maximum == 180
    assert by_name("REVERSE_IOUT_SET").range_for(24).maximum == 76.5
    assert by_name("REVERSE_IOUT_SET").range_for(96).minimum == 0.25
    assert by_name("REVERSE_VOUT_SET").range_for(96).default == 76
    assert by_name("IOUT_SET").range_for(36) is None


def test_read_iout_range_is_signed():
    assert by_name("READ_IOUT").range_for(12).minimum == -180
    assert by_name("READ_IOUT").range_for(12).maximum == 216
