import json

import pytest

from services.bic_gateway.wear import (
    ACTIVE_SECONDS,
    DEFAULT_MIN_INTERVAL_S,
    EEPROM_WRITE_BUDGET,
    LedgerFormatError,
    WearGuard,
    WearPolicy,
    WriteLedger,
    needs_write,
    wears_eeprom,
)

T0 = 1_760_000_000.0  # an epoch time


def test_budget_arithmetic():
    assert EEPROM_WRITE_BUDGET == 4_000_000
    assert ACTIVE_SECONDS == 10 * 365.25 * 8 * 3600 == 105_192_000
    assert abs(DEFAULT_MIN_INTERVAL_S - 26.298) < 1e-3


# --- read-compare-write ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [(None, 100, True), (100, 100, False), (100, 101, True), (b"\x01", b"\x01", False)],
)
def test_needs_write(current, new, expected):
    assert needs_write(current, new) is expected


# --- which writes wear -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("register", "eep_off", "expected"),
    [
        ("VOUT_SET", False, True),
        ("VOUT_SET", True, False),
        ("REVERSE_IOUT_SET", True, False),
        ("OPERATION", True, True),
        ("SYSTEM_CONFIG", True, True),
        ("BIDIRECTIONAL_CONFIG", True, True),
        ("DIRECTION_CTRL", True, True),
        ("READ_VOUT", False, False),
    ],
)
def test_wears_eeprom(register, eep_off, expected):
    assert wears_eeprom(register, eep_off) is expected


# --- ledger ------------------------------------------------------------------------------------


def test_ledger_counts_all_writes_and_eeprom_writes_separately():
    ledger = WriteLedger()
    assert ledger.record_write("IOUT_SET", T0, eep_off=True) is False  # volatile under EEP_OFF
    ledger.record_write("IOUT_SET", T0 + 1, eep_off=True)
    assert ledger.record_write(0x0100, T0 + 2, eep_off=True) is True  # by code: DIRECTION_CTRL
    assert ledger.writes == {"IOUT_SET": 2, "DIRECTION_CTRL": 1}
    assert ledger.eeprom_writes == {"DIRECTION_CTRL": 1}
    assert ledger.last_eeprom_write == {"DIRECTION_CTRL": T0 + 2}
    assert ledger.record_write("IOUT_SET", T0 + 3, eep_off=False) is True
    assert ledger.eeprom_writes == {"DIRECTION_CTRL": 1, "IOUT_SET": 1}
    assert ledger.eeprom_total == 2


def test_ledger_json_round_trip():
    ledger = WriteLedger(device="180101000001")
    for i in range(3):
        ledger.record_write("VOUT_SET", T0 + i, eep_off=False)
    ledger.record_write("OPERATION", T0 + 5, eep_off=True)
    restored = WriteLedger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert restored == ledger
    assert restored.to_json()["version"] == 1


def test_ledger_keeps_unknown_register_names():
    data = {"version": 1, "writes": {"FUTURE_REG": 7}, "eeprom_writes": {}, "last_eeprom_write": {}}
    assert WriteLedger.from_json(data).writes == {"FUTURE_REG": 7}


def test_ledger_accepts_missing_sections():
    assert WriteLedger.from_json({"version": 1}) == WriteLedger()


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"version": 2},
        {"writes": {}},
        {"version": 1, "writes": {"IOUT_SET": -1}},
        {"version": 1, "writes": {"IOUT_SET": 1.5}},
        {"version": 1, "eeprom_writes": {"IOUT_SET": True}},
        {"version": 1, "writes": ["IOUT_SET"]},
        {"version": 1, "last_eeprom_write": {"IOUT_SET": "yesterday"}},
        {"version": 1, "device": 42},
    ],
)
def test_ledger_rejects_malformed_data(data):
    with pytest.raises(LedgerFormatError):
        WriteLedger.from_json(data)


# --- may_write ---------------------------------------------------------------------------------


def guard(policy: WearPolicy | None = None) -> WearGuard:
    return WearGuard(WriteLedger(), policy or WearPolicy())


def test_first_write_allowed():
    decision = guard().may_write("IOUT_SET", T0, eep_off=False)
    assert decision.allowed
    allowed, reason = decision  # unpacks as a (bool, reason) tuple
    assert allowed and "first" in reason


def test_minimum_interval_without_eep_off():
    g = guard()
    g.ledger.record_write("IOUT_SET", T0, eep_off=False)
    blocked = g.may_write("IOUT_SET", T0 + 10, eep_off=False)
    assert not blocked.allowed
    assert "wait 16.3 s" in blocked.reason
    assert not g.may_write("IOUT_SET", T0 + DEFAULT_MIN_INTERVAL_S - 0.01, eep_off=False).allowed
    assert g.may_write("IOUT_SET", T0 + DEFAULT_MIN_INTERVAL_S, eep_off=False).allowed


def test_interval_is_per_register():
    g = guard()
    g.ledger.record_write("IOUT_SET", T0, eep_off=False)
    assert g.may_write("REVERSE_IOUT_SET", T0 + 1, eep_off=False).allowed


def test_eep_off_setpoints_are_never_rate_limited():
    g = guard()
    for i in range(5):
        assert g.may_write("IOUT_SET", T0 + i * 0.1, eep_off=True).allowed
        g.ledger.record_write("IOUT_SET", T0 + i * 0.1, eep_off=True)
    assert "EEP_OFF" in g.may_write("IOUT_SET", T0 + 1, eep_off=True).reason


@pytest.mark.parametrize("register", ["OPERATION", "DIRECTION_CTRL", "SYSTEM_CONFIG"])
def test_persisted_registers_are_rate_limited_even_with_eep_off(register):
    g = guard()
    g.ledger.record_write(register, T0, eep_off=True)
    assert not g.may_write(register, T0 + 5, eep_off=True).allowed


def test_read_only_register_never_writable():
    decision = guard().may_write("READ_VOUT", T0, eep_off=True)
    assert decision == (False, "READ_VOUT is read-only")


def test_safety_write_bypasses_interval_and_budget():
    g = guard(WearPolicy(budget=1))
    g.ledger.record_write("IOUT_SET", T0, eep_off=False)
    assert not g.may_write("IOUT_SET", T0 + 1, eep_off=False).allowed
    decision = g.may_write("IOUT_SET", T0 + 1, eep_off=False, safety=True)
    assert decision.allowed and "safety" in decision.reason


def test_budget_exhausted_blocks_routine_wear_writes():
    g = guard(WearPolicy(min_interval_s=0, budget=3))
    for i in range(3):
        assert g.may_write("VOUT_SET", T0 + i, eep_off=False).allowed
        g.ledger.record_write("VOUT_SET", T0 + i, eep_off=False)
    decision = g.may_write("IOUT_SET", T0 + 10, eep_off=False)
    assert not decision.allowed
    assert "budget used up (3 of 3)" in decision.reason
    # Writes that do not wear stay possible.
    assert g.may_write("IOUT_SET", T0 + 10, eep_off=True).allowed


def test_clock_moving_backwards_does_not_block_for_hours():
    g = guard()
    g.ledger.record_write("IOUT_SET", T0, eep_off=False)
    decision = g.may_write("IOUT_SET", T0 - 3600, eep_off=False)
    assert decision.allowed and "backwards" in decision.reason


def test_custom_interval():
    g = guard(WearPolicy(min_interval_s=60))
    g.ledger.record_write("VOUT_SET", T0, eep_off=False)
    assert not g.may_write("VOUT_SET", T0 + 59, eep_off=False).allowed
    assert g.may_write("VOUT_SET", T0 + 60, eep_off=False).allowed
