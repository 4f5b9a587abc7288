import itertools

import pytest

from services.bic_gateway.codec import decode_request, decode_response
from services.bic_gateway.flags import (
    FACTORY_DEFAULT_SYSTEM_CONFIG,
    FAULT_STATUS_BITS,
    SYSTEM_STATUS_BITS,
    BidirectionalConfig,
    DirectionCtrl,
    EepromWriteMode,
    Operation,
    OperationInit,
    SystemConfig,
    active_faults,
    decode_bidirectional_config,
    decode_bits,
    decode_fault_status,
    decode_system_config,
    decode_system_status,
    encode_bidirectional_config,
    encode_bits,
    encode_system_config,
    reserved_bits,
    system_config_flags,
    system_status_problems,
)

# --- FAULT_STATUS ------------------------------------------------------------------------------

FAULT_BIT_NAMES = {
    0: "fan_fail",
    1: "otp",
    2: "ovp",
    3: "olp",
    4: "short",
    5: "ac_fail",
    6: "op_off",
    7: "hi_temp",
    8: "hv_ovp",
}


@pytest.mark.parametrize(("bit", "name"), FAULT_BIT_NAMES.items())
def test_each_fault_bit_maps_to_exactly_its_flag(bit, name):
    decoded = decode_fault_status(1 << bit)
    assert {flag for flag, is_set in decoded.items() if is_set} == {name}


def test_fault_table_covers_bits_0_to_8():
    assert {flag.bit: flag.name for flag in FAULT_STATUS_BITS} == FAULT_BIT_NAMES


def test_d7_ac_fail_and_op_off():
    response = decode_response(0x000C0200, bytes.fromhex("40006000"))
    decoded = decode_fault_status(response.value)
    assert decoded["ac_fail"] and decoded["op_off"]
    assert sum(decoded.values()) == 2
    assert active_faults(response.value) == ["ac_fail"]  # OP_OFF is a status, not a fault


def test_d8_hv_ovp_is_high_byte_bit_0():
    response = decode_response(0x000C0200, bytes.fromhex("40000001"))
    assert active_faults(response.value) == ["hv_ovp"]
    assert decode_fault_status(response.value)["hv_ovp"]


def test_no_faults():
    assert active_faults(0) == []
    assert not any(decode_fault_status(0).values())


def test_hi_temp_alarm_is_reported_as_active():
    assert active_faults(0x0080) == ["hi_temp"]


def test_reserved_fault_bits_are_reported_separately():
    assert decode_fault_status(0x0200) == decode_fault_status(0)
    assert reserved_bits(FAULT_STATUS_BITS, 0x0260) == 0x0200


# --- SYSTEM_STATUS -----------------------------------------------------------------------------


def test_d9_healthy_master():
    response = decode_response(0x000C0200, bytes.fromhex("C1002700"))
    status = decode_system_status(response.value)
    assert status == {
        "master": True,
        "dc_ok": True,
        "pfc_ok": True,
        "adl_on": False,
        "ready": True,
        "eeprom_error": False,
    }
    assert system_status_problems(response.value) == []


def test_d10_eeprom_error_while_initialising():
    response = decode_response(0x000C0200, bytes.fromhex("C1004700"))
    status = decode_system_status(response.value)
    assert status["eeprom_error"] is True
    assert status["ready"] is False
    assert system_status_problems(response.value) == ["eeprom_error", "initialising"]


@pytest.mark.parametrize(
    ("raw", "only_set"),
    [
        (0x0010, "adl_on"),  # bit 4 (an earlier tool used bit 3)
        (0x0020, "ready"),  # bit 5 is INITIAL_STATE, not EEPER
        (0x0040, "eeprom_error"),  # bit 6
    ],
)
def test_system_status_bit_positions(raw, only_set):
    status = decode_system_status(raw)
    assert [name for name, is_set in status.items() if is_set] == [only_set]


def test_system_status_bit_3_is_reserved():
    assert not any(decode_system_status(0x0008).values())
    assert reserved_bits(SYSTEM_STATUS_BITS, 0x0008) == 0x0008


def test_slave_without_dc_ok():
    assert system_status_problems(0x0024) == ["dc_not_ok"]
    assert decode_system_status(0x0024)["master"] is False


# --- generic bit helpers -----------------------------------------------------------------------


def test_encode_bits_round_trip():
    for raw in (0x0000, 0x0027, 0x0047, 0x0077):
        assert encode_bits(SYSTEM_STATUS_BITS, decode_bits(SYSTEM_STATUS_BITS, raw)) == raw


def test_encode_bits_rejects_unknown_flag():
    with pytest.raises(KeyError):
        encode_bits(FAULT_STATUS_BITS, {"nonsense": True})


# --- SYSTEM_CONFIG -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0x0002, SystemConfig(False, OperationInit.ON, EepromWriteMode.IMMEDIATE, False)),
        (0x0003, SystemConfig(True, OperationInit.ON, EepromWriteMode.IMMEDIATE, False)),  # M3
        (0x0403, SystemConfig(True, OperationInit.ON, EepromWriteMode.IMMEDIATE, True)),  # D11
        (0x0401, SystemConfig(True, OperationInit.OFF, EepromWriteMode.IMMEDIATE, True)),
        (0x0205, SystemConfig(True, OperationInit.PREVIOUS, EepromWriteMode.AFTER_10_MIN, False)),
        (0x0100, SystemConfig(False, OperationInit.OFF, EepromWriteMode.AFTER_1_MIN, False)),
    ],
)
def test_system_config_decode_and_encode(raw, expected):
    assert decode_system_config(raw) == expected
    assert encode_system_config(expected) == raw


def test_factory_default_is_svr_power_up_on():
    config = decode_system_config(FACTORY_DEFAULT_SYSTEM_CONFIG)
    assert not config.can_control
    assert config.operation_init is OperationInit.ON
    assert not config.eep_off


def test_eep_config_uses_shift_8_not_7():
    # Bit 7 is reserved; a shift by 7 would misread 0x0100 as "10 minutes".
    assert decode_system_config(0x0100).eeprom_write is EepromWriteMode.AFTER_1_MIN
    config = decode_system_config(0x0080)
    assert config.eeprom_write is EepromWriteMode.IMMEDIATE
    assert config.reserved == 0x0080


@pytest.mark.parametrize("frame_hex", ["C2000304", "C2000502"])  # D11, D12
def test_system_config_from_request_frames(frame_hex):
    request = decode_request(0x000C0300, bytes.fromhex(frame_hex))
    raw = int.from_bytes(request.raw, "little")
    config = decode_system_config(raw)
    assert config.can_control
    assert encode_system_config(config) == raw


def test_all_valid_system_configs_round_trip():
    valid_init = [m for m in OperationInit if m is not OperationInit.RESERVED]
    valid_eep = [m for m in EepromWriteMode if m is not EepromWriteMode.RESERVED]
    seen = set()
    for can, init, eep, off in itertools.product([False, True], valid_init, valid_eep, [0, 1]):
        config = SystemConfig(can, init, eep, bool(off))
        raw = encode_system_config(config)
        assert decode_system_config(raw) == config
        seen.add(raw)
    assert len(seen) == 2 * 3 * 3 * 2


def test_reserved_bits_survive_read_modify_write():
    config = decode_system_config(0x8003)
    assert config.reserved == 0x8000
    assert encode_system_config(config) == 0x8003


@pytest.mark.parametrize(
    "config",
    [
        SystemConfig(True, OperationInit.RESERVED),
        SystemConfig(True, eeprom_write=EepromWriteMode.RESERVED),
        SystemConfig(True, reserved=0x0001),  # overlaps CAN_CTRL
        SystemConfig(True, reserved=0x10000),
    ],
)
def test_encode_refuses_reserved_values(config):
    with pytest.raises(ValueError):
        encode_system_config(config)


def test_system_config_flags_view():
    assert system_config_flags(0x0205) == {
        "can_control": True,
        "operation_init": "previous",
        "eeprom_write": "after_10_min",
        "eep_off": False,
    }


# --- BIDIRECTIONAL_CONFIG ----------------------------------------------------------------------


def test_m8_battery_mode():
    request = decode_request(0x000C0300, bytes.fromhex("40010100"))
    config = decode_bidirectional_config(int.from_bytes(request.raw, "little"))
    assert config == BidirectionalConfig(battery_mode=True)
    assert encode_bidirectional_config(config) == 0x0001


def test_auto_detect_mode_and_reserved():
    assert decode_bidirectional_config(0) == BidirectionalConfig(battery_mode=False)
    assert decode_bidirectional_config(0x0102) == BidirectionalConfig(False, reserved=0x0102)
    with pytest.raises(ValueError):
        encode_bidirectional_config(BidirectionalConfig(True, reserved=0x0001))


# --- enums and provisioning --------------------------------------------------------------------


def test_one_byte_enums():
    assert Operation.ON == 1 and Operation.OFF == 0
    assert DirectionCtrl.CHARGE == 0 and DirectionCtrl.DISCHARGE == 1
