"""The BIC fixes of issue 12 item 9 against the simulator: provisioning out of an EEPROM delay
mode, battery mode trusted only after a re-power, the whole-device wear interval, reserved
SYSTEM_CONFIG bits, SVR mode. The gateway's driver talks to a simulated unit over python-can's
in-process virtual bus."""

from __future__ import annotations

from contextlib import contextmanager

import can
import pytest
from bic_gateway.bic_stack import unit_on_virtual_bus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS, to_raw
from services.bic_gateway.commands import CommandFailed, run_command
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.limits import BatteryWindow
from services.bic_gateway.provisioning import plan_provisioning, provision
from services.bic_gateway.transport import CanTransport
from services.bic_gateway.unit import REPOWER_PENDING, UnitDriver
from services.bic_gateway.wear import WearPolicy
from services.bic_gateway.write_path import Action

WINDOW = BatteryWindow(46.0, 56.0)


@contextmanager
def driver_for(tmp_path, policy: WearPolicy | None = None, **create):
    """(simulated unit, its bus loop, the gateway's driver for it, the state store)."""
    with unit_on_virtual_bus(**create) as (sim, loop, channel):
        bus = can.Bus(
            interface="virtual", channel=channel, can_filters=[id_filter(BIC_IDS.response_base)]
        )
        store = StateStore(tmp_path / "state.json").load()
        driver = UnitDriver(
            CanTransport(bus), 0, store.unit(0), store, policy or WearPolicy(), window=WINDOW
        )
        driver.identify()
        try:
            yield sim, loop, driver, store
        finally:
            bus.shutdown()


def run_init(driver: UnitDriver, **kw) -> dict:
    def do(d):
        return provision(d, eep_off=True, operation_init="on", settle_s=0.0)

    return run_command(driver, "init_mode", provision=do, **kw)


def test_provisioning_needs_the_explicit_confirmation(tmp_path):
    with driver_for(tmp_path, provisioned=False) as (sim, loop, driver, _store):
        with pytest.raises(CommandFailed, match="explicit confirmation"):
            run_init(driver)
        with loop.lock:
            assert sim.writes == {}  # nothing touched


def test_provisioning_out_of_an_eeprom_delay_mode_stores_the_boot_values(tmp_path):
    """0x0205: CAN control, previous state, EEPROM saves after 10 minutes unchanged. Writing the
    boot values and setting EEP_OFF seconds later would leave the old ones in the EEPROM."""
    with driver_for(tmp_path, system_config=0x0205) as (sim, loop, driver, _store):
        with loop.lock:
            old_boot_current = sim.eeprom["IOUT_SET"]
        assert old_boot_current == to_raw("IOUT_SET", 40.0)  # the model default
        report = run_init(driver, confirm=True)
        first = report["steps"][0]
        assert first["register"] == "SYSTEM_CONFIG" and first["value"] == 0x0003  # immediate
        assert report["eep_off_supported"] is True
        with loop.lock:
            assert sim.registers["SYSTEM_CONFIG"] == 0x0403
            sim.power_cycle()
            booted = dict(sim.registers)
        # the unit boots with the safe idle values provisioning stored, not its old ones
        assert booted["IOUT_SET"] == booted["REVERSE_IOUT_SET"] == to_raw("IOUT_SET", 0.45)
        assert booted["VOUT_SET"] == to_raw("VOUT_SET", 56.0)
        assert booted["REVERSE_VOUT_SET"] == to_raw("REVERSE_VOUT_SET", 46.0)


def test_provisioning_preserves_reserved_system_config_bits(tmp_path):
    with driver_for(tmp_path, system_config=0x1205) as (sim, loop, driver, _store):
        run_init(driver, confirm=True)
        with loop.lock:
            assert sim.registers["SYSTEM_CONFIG"] == 0x1403
            assert sim.eeprom["SYSTEM_CONFIG"] == 0x1403  # bit 12 kept, never cleared


def test_the_provisioning_plan_reads_modify_writes_every_word():
    from services.bic_gateway.limits import OperatingLimits
    from services.bic_gateway.models import identify

    limits = OperatingLimits(identify("BIC-2200-48"), WINDOW)
    plan = plan_provisioning(limits, 0x8205, 0x4000, eep_off=True, operation_init="off")
    assert plan.unlock == 0x8001 and plan.system_config == 0x8401
    assert plan.bidirectional == 0x4001
    assert plan.max_eeprom_writes == 1 + 4 + 2
    done = plan_provisioning(limits, 0x0003, 0x0001, eep_off=True, operation_init="on")
    assert done.unlock is None and done.system_config == 0x0403  # already unlocked


def test_battery_mode_is_not_trusted_before_the_re_power(tmp_path):
    """A fresh unit (SVR, auto-detect): provisioning writes battery mode, which reads back at
    once but is not active; a discharge must not be accepted until the unit was re-powered."""
    with driver_for(tmp_path, provisioned=False) as (sim, loop, driver, store):
        assert not driver.controllable
        report = run_init(driver, confirm=True)
        assert "power-cycle the unit now" in report["next"]
        with loop.lock:
            assert sim.registers["BIDIRECTIONAL_CONFIG"] == 1 and not sim.battery_mode_active
        assert driver.raw["BIDIRECTIONAL_CONFIG"] == 1  # reads back battery mode ...
        assert not driver.controllable  # ... but it is not in effect
        assert driver.control_problems == [REPOWER_PENDING]
        # the doubt survives a gateway restart
        assert StateStore(store.path).load().unit(0).battery_mode_unconfirmed is True
        with loop.lock:
            sim.power_cycle()
        driver.forget()  # what the gateway does when the unit stopped answering
        driver.identify()
        assert driver.controllable and driver.control_problems == []
        with loop.lock:
            assert sim.battery_mode_active


def test_battery_mode_appearing_while_the_unit_kept_answering_needs_a_re_power(tmp_path):
    with driver_for(tmp_path, provisioned=False, system_config=0x0003) as (sim, loop, driver, _s):
        assert driver.control_problems[0].startswith("unit is in auto-detect mode")
        with loop.lock:
            sim.registers["BIDIRECTIONAL_CONFIG"] = 1  # another tool wrote it
        driver.read("BIDIRECTIONAL_CONFIG")
        assert driver.control_problems == [REPOWER_PENDING]


def test_the_wear_interval_is_one_for_the_whole_unit(tmp_path):
    """Old firmware (no EEP_OFF): every setpoint write is an EEPROM write. Two registers in a row
    are two EEPROM writes: the second waits for the unit's interval (held, then applied)."""
    policy = WearPolicy(min_interval_s=3600)
    with driver_for(tmp_path, policy, eep_off_supported=False) as (sim, loop, driver, _store):
        assert driver.write("IOUT_SET", 5.0).decision.action is Action.WRITE
        held = driver.write("REVERSE_IOUT_SET", 5.0, source="power")
        assert held.decision.action is Action.DEFER and "any register" in held.decision.reason
        assert driver.write("VOUT_SET", 55.0).decision.action is Action.DEFER
        with loop.lock:
            assert sim.eeprom_writes == {"IOUT_SET": 1}
        assert set(driver.governor.held) == {"REVERSE_IOUT_SET", "VOUT_SET"}
        assert driver.flush_held() == []  # the interval has not ended
        driver.record.ledger.next_eeprom_write_at = 0.0  # ... now it has
        done = driver.flush_held()
        assert [r.decision.register for _s, r in done] == ["VOUT_SET", "REVERSE_IOUT_SET"]
        assert [r.decision.action for _s, r in done] == [Action.WRITE, Action.DEFER]
        with loop.lock:
            assert sim.eeprom_writes == {"IOUT_SET": 1, "VOUT_SET": 1}


def test_svr_mode_refuses_writes_instead_of_accepting_them_silently(tmp_path):
    with driver_for(tmp_path, system_config=0x0402) as (sim, loop, driver, _store):
        assert not driver.controllable
        assert "SVR mode" in driver.control_problems[0]
        result = driver.write("IOUT_SET", 5.0, source="cmd ccset")
        assert result.decision.action is Action.REJECT and "SVR mode" in result.decision.reason
        with pytest.raises(CommandFailed, match="SVR mode"):
            run_command(driver, "on")
        with loop.lock:
            assert sim.writes == {}
        run_init(driver, confirm=True)  # provisioning is the way out: it sets CAN control
        with loop.lock:
            assert sim.registers["SYSTEM_CONFIG"] == 0x0403
        assert driver.write("IOUT_SET", 5.0).ok


def test_an_ac_cut_seen_while_the_unit_kept_answering_is_re_power_evidence(tmp_path):
    with driver_for(tmp_path, provisioned=False) as (sim, loop, driver, _store):
        run_init(driver, confirm=True)
        assert driver.control_problems == [REPOWER_PENDING]
        driver.read("FAULT_STATUS")  # AC still there: no evidence
        assert not driver.controllable
        with loop.lock:
            sim.ac_fail = True  # AC off; the CAN side keeps answering
        driver.read("FAULT_STATUS")
        assert not driver.controllable  # not back yet
        with loop.lock:
            sim.ac_fail = False  # AC on again: the power stage restarts in battery mode
            sim.power_cycle()
        driver.read("FAULT_STATUS")
        assert driver.controllable


def test_a_battery_window_the_unit_cannot_hold_refuses_every_write(tmp_path):
    with unit_on_virtual_bus("BIC-2200-24") as (sim, loop, channel):
        bus = can.Bus(
            interface="virtual", channel=channel, can_filters=[id_filter(BIC_IDS.response_base)]
        )
        try:
            store = StateStore(tmp_path / "state.json").load()
            driver = UnitDriver(CanTransport(bus), 0, store.unit(0), store, window=WINDOW)
            driver.identify()
            assert not driver.controllable
            assert "do not fit this BIC-2200-24" in driver.control_problems[0]
            result = driver.write("IOUT_SET", 5.0)
            assert result.decision.action is Action.REJECT
            assert "REVERSE_VOUT_SET 46.00 V rejected" in result.decision.reason
            with pytest.raises(CommandFailed, match="do not fit"):
                run_command(driver, "ccset", 5.0)
            with loop.lock:
                assert sim.writes == {}
        finally:
            bus.shutdown()
