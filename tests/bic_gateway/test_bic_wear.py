import json

import pytest

from services.bic_gateway.wear import (
    ACTIVE_SECONDS,
    DEFAULT_MIN_INTERVAL_S,
    EEPROM_WRITE_BUDGET,
    MAX_BATCH_WRITES,
    HeldWrite,
    LedgerFormatError,
    WearGovernor,
    WearPolicy,
    WriteKind,
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
        ("DIRECTION_CTRL", True, False),  # volatile: not in the factory-reset list
        ("DIRECTION_CTRL", False, False),
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
    assert ledger.record_write(0x0100, T0 + 2, eep_off=True) is False  # by code: DIRECTION_CTRL
    assert ledger.record_write(0x0000, T0 + 2, eep_off=True) is True  # by code: OPERATION
    assert ledger.writes == {"IOUT_SET": 2, "DIRECTION_CTRL": 1, "OPERATION": 1}
    assert ledger.eeprom_writes == {"OPERATION": 1}
    assert ledger.last_eeprom_write == {"OPERATION": T0 + 2}
    assert ledger.record_write("IOUT_SET", T0 + 3, eep_off=False) is True
    assert ledger.eeprom_writes == {"OPERATION": 1, "IOUT_SET": 1}
    assert ledger.eeprom_total == 2


def test_ledger_json_round_trip():
    ledger = WriteLedger(device="180101000001")
    for i in range(3):
        ledger.record_write("VOUT_SET", T0 + i, eep_off=False)
    ledger.record_write("OPERATION", T0 + 5, eep_off=True)
    ledger.next_eeprom_write_at = T0 + 40
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
        {"version": 1, "next_eeprom_write_at": "soon"},
        {"version": 1, "next_eeprom_write_at": True},
    ],
)
def test_ledger_rejects_malformed_data(data):
    with pytest.raises(LedgerFormatError):
        WriteLedger.from_json(data)


# --- the governor: one budget and interval per unit --------------------------------------------


def governor(policy: WearPolicy | None = None) -> WearGovernor:
    return WearGovernor(WriteLedger(), policy or WearPolicy())


def test_first_write_allowed():
    decision = governor().may_write("IOUT_SET", T0, eep_off=False)
    assert decision.allowed and not decision.retry
    allowed, reason, _retry = decision  # unpacks as a (bool, reason, retry) tuple
    assert allowed and "within the budget" in reason


def test_minimum_interval_without_eep_off():
    g = governor()
    assert g.record("IOUT_SET", T0, eep_off=False) is True
    blocked = g.may_write("IOUT_SET", T0 + 10, eep_off=False)
    assert not blocked.allowed and blocked.retry
    assert "next in 16.3 s" in blocked.reason and "any register, any source" in blocked.reason
    assert not g.may_write("IOUT_SET", T0 + DEFAULT_MIN_INTERVAL_S - 0.01, eep_off=False).allowed
    assert g.may_write("IOUT_SET", T0 + DEFAULT_MIN_INTERVAL_S, eep_off=False).allowed


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("IOUT_SET", "REVERSE_IOUT_SET"),
        ("VOUT_SET", "IOUT_SET"),
        ("OPERATION", "VOUT_SET"),
        ("SYSTEM_CONFIG", "OPERATION"),
    ],
)
def test_interval_is_for_the_whole_unit_not_per_register(first, second):
    g = governor()
    g.record(first, T0, eep_off=False)
    assert not g.may_write(second, T0 + 1, eep_off=False).allowed
    assert g.may_write(second, T0 + DEFAULT_MIN_INTERVAL_S, eep_off=False).allowed


def test_eep_off_setpoints_and_direction_are_never_rate_limited():
    g = governor()
    g.record("OPERATION", T0, eep_off=True)  # the unit's interval is running
    for i in range(5):
        for register in ("IOUT_SET", "DIRECTION_CTRL"):
            assert g.may_write(register, T0 + i * 0.1, eep_off=True).allowed
            assert g.record(register, T0 + i * 0.1, eep_off=True) is False
    assert "EEP_OFF" in g.may_write("IOUT_SET", T0 + 1, eep_off=True).reason
    assert "volatile" in g.may_write("DIRECTION_CTRL", T0 + 1, eep_off=False).reason
    # volatile writes do not move the unit's next EEPROM write
    assert g.next_write_at() == pytest.approx(T0 + DEFAULT_MIN_INTERVAL_S)


@pytest.mark.parametrize("register", ["OPERATION", "SYSTEM_CONFIG", "BIDIRECTIONAL_CONFIG"])
def test_persisted_registers_are_rate_limited_even_with_eep_off(register):
    g = governor()
    g.record(register, T0, eep_off=True)
    assert not g.may_write(register, T0 + 5, eep_off=True).allowed


def test_read_only_register_never_writable():
    decision = governor().may_write("READ_VOUT", T0, eep_off=True)
    assert decision == (False, "READ_VOUT is read-only", False)


def test_safety_write_bypasses_interval_and_budget_but_is_counted():
    g = governor(WearPolicy(budget=1))
    g.record("IOUT_SET", T0, eep_off=False)
    assert not g.may_write("IOUT_SET", T0 + 1, eep_off=False).allowed
    decision = g.may_write("IOUT_SET", T0 + 1, eep_off=False, kind=WriteKind.SAFETY)
    assert decision.allowed and "safety" in decision.reason
    assert g.record("IOUT_SET", T0 + 1, eep_off=False) is True
    assert g.ledger.eeprom_total == 2
    # the next routine write waits for both intervals
    assert g.wait_s(T0 + 1) == pytest.approx(2 * DEFAULT_MIN_INTERVAL_S - 1)


def test_budget_exhausted_refuses_routine_and_provisioning_writes_without_retry():
    g = governor(WearPolicy(min_interval_s=0, budget=3))
    for i in range(3):
        assert g.may_write("VOUT_SET", T0 + i, eep_off=False).allowed
        g.record("VOUT_SET", T0 + i, eep_off=False)
    for kind in (WriteKind.ROUTINE, WriteKind.PROVISIONING):
        decision = g.may_write("IOUT_SET", T0 + 10, eep_off=False, kind=kind)
        assert not decision.allowed and not decision.retry
        assert "budget used up (3 of 3)" in decision.reason
    assert not g.may_start_batch(T0 + 10, 1).allowed
    # Writes that do not wear stay possible.
    assert g.may_write("IOUT_SET", T0 + 10, eep_off=True).allowed


def test_clock_moving_backwards_does_not_block_for_hours():
    g = governor()
    g.record("IOUT_SET", T0, eep_off=False)
    assert g.wait_s(T0 - 3600) == 0
    assert g.may_write("IOUT_SET", T0 - 3600, eep_off=False).allowed


def test_custom_interval():
    g = governor(WearPolicy(min_interval_s=60))
    g.record("VOUT_SET", T0, eep_off=False)
    assert not g.may_write("VOUT_SET", T0 + 59, eep_off=False).allowed
    assert g.may_write("VOUT_SET", T0 + 60, eep_off=False).allowed


def test_a_ledger_from_before_the_whole_device_budget_derives_the_next_write():
    ledger = WriteLedger(last_eeprom_write={"IOUT_SET": T0, "OPERATION": T0 + 5})
    g = WearGovernor(ledger, WearPolicy(min_interval_s=10))
    assert g.next_write_at() == T0 + 15
    assert g.wait_s(T0 + 6) == pytest.approx(9)
    assert WearGovernor(WriteLedger()).next_write_at() is None


def test_a_flood_gets_at_most_one_eeprom_write_per_interval():
    """1,000 alternating OPERATION requests over 41 s (issue 12, item 1): two writes at most."""
    g = governor()
    writes = []
    for i in range(1000):
        now = T0 + i * 0.041
        if g.may_write("OPERATION", now, eep_off=True).allowed:
            g.record("OPERATION", now, eep_off=True)
            writes.append(now)
    assert len(writes) == 2
    assert writes[1] - writes[0] >= DEFAULT_MIN_INTERVAL_S


# --- provisioning batches ------------------------------------------------------------------------


def test_a_batch_starts_only_after_the_interval_and_later_writes_repay_it():
    g = governor(WearPolicy(min_interval_s=10))
    g.record("OPERATION", T0, eep_off=True)
    refused = g.may_start_batch(T0 + 5, 4)
    assert not refused.allowed and "try again in 5 s" in refused.reason
    assert g.may_start_batch(T0 + 10, 4).allowed
    for i in range(4):
        decision = g.may_write("VOUT_SET", T0 + 10 + i, eep_off=False, kind=WriteKind.PROVISIONING)
        assert decision.allowed and "provisioning" in decision.reason
        g.record("VOUT_SET", T0 + 10 + i, eep_off=False)
    # four writes borrowed four intervals: the next routine write waits until T0 + 50
    assert g.next_write_at() == pytest.approx(T0 + 50)
    assert not g.may_write("OPERATION", T0 + 49, eep_off=True).allowed
    assert g.may_write("OPERATION", T0 + 50, eep_off=True).allowed


def test_a_batch_is_bounded_by_size_and_budget():
    g = governor(WearPolicy(budget=5))
    assert not g.may_start_batch(T0, MAX_BATCH_WRITES + 1).allowed
    assert "budget too low" in g.may_start_batch(T0, 6).reason
    assert g.may_start_batch(T0, 5).allowed


# --- coalescing ----------------------------------------------------------------------------------


def test_held_writes_keep_the_last_value_and_are_due_when_the_interval_ends():
    g = governor(WearPolicy(min_interval_s=10))
    assert not g.due(T0)  # nothing held
    g.record("OPERATION", T0, eep_off=True)
    assert g.hold("OPERATION", 0, "state") is None
    assert g.hold("OPERATION", 1, "state") == HeldWrite(0, "state")
    assert g.hold(0x0000, 0, "cmd off") == HeldWrite(1, "state")  # by code
    assert g.held == {"OPERATION": HeldWrite(0, "cmd off")}
    assert not g.due(T0 + 9.9)
    assert g.due(T0 + 10)
    assert g.release("OPERATION") == HeldWrite(0, "cmd off")
    assert g.release("OPERATION") is None and not g.due(T0 + 10)
