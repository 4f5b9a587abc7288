"""The simulated unit's rules from the manual: violations, SVR mode, current ranges per mode,
faults with their latching, the NPB charger; and the control commands."""

from __future__ import annotations

import pytest

from services.sim.bic import frames
from services.sim.bic.control import ControlError, apply_command
from services.sim.bic.device import SimulatedBic
from services.sim.bic.faults import Fault

REQ = 0x0C0300


def write(sim: SimulatedBic, code: int, raw: int, size: int = 2, can_id: int = REQ) -> None:
    assert sim.handle(can_id, code.to_bytes(2, "little") + raw.to_bytes(size, "little")) is None


def read(sim: SimulatedBic, code: int, can_id: int = REQ) -> int | None:
    data = sim.handle(can_id, code.to_bytes(2, "little"))
    return None if data is None else int.from_bytes(data[2:], "little", signed=code in (97, 98))


def kinds(sim: SimulatedBic) -> dict[str, int]:
    return dict(sim.violations.by_kind)


def test_every_ignored_request_is_recorded_as_a_violation():
    sim = SimulatedBic.create(0, "BIC-2200-48")
    write(sim, 0x0020, 7000)  # 70 V: above 65 V
    write(sim, 0x0000, 2, size=1)  # OPERATION only knows 0 and 1
    write(sim, 0x0060, 5000)  # READ_VOUT is read-only
    assert sim.handle(REQ, bytes.fromhex("9900")) is None  # unknown command
    assert sim.handle(REQ, bytes.fromhex("2000B8")) is None  # one byte short
    assert sim.handle(0x0C03FF, bytes.fromhex("6000")) is None  # broadcast read
    assert kinds(sim) == {
        "out_of_range": 2,
        "read_only": 1,
        "unknown_command": 1,
        "malformed": 1,
        "broadcast_read": 1,
    }
    assert sim.writes == {} and sim.registers["VOUT_SET"] == 5040
    assert "VOUT_SET = 70.0 outside 38..65" in sim.violations.recent[0].detail


def test_svr_mode_ignores_setpoint_writes_and_records_each():
    sim = SimulatedBic.create(0, "BIC-2200-48", system_config=0x0002)
    write(sim, 0x0030, 500)
    write(sim, 0x0000, 0, size=1)
    write(sim, 0x0120, 4600)  # not a VOUT/IOUT/OPERATION register: accepted
    assert kinds(sim) == {"svr_ignored": 2} and sim.writes == {"REVERSE_VOUT_SET": 1}


def test_auto_detect_mode_accepts_110_percent_battery_mode_does_not():
    sim = SimulatedBic.create(0, "BIC-2200-48", provisioned=False, system_config=0x0003)
    assert not sim.battery_mode_active and sim.registers["IOUT_SET"] == 4950  # default: max
    write(sim, 0x0030, 4900)  # 49 A: within 110 % of 45 A
    assert sim.registers["IOUT_SET"] == 4900 and not kinds(sim)
    write(sim, 0x0140, 1)  # battery mode: only after a re-power
    write(sim, 0x0030, 4950)
    assert sim.registers["IOUT_SET"] == 4950
    sim.power_cycle()
    assert sim.battery_mode_active and sim.registers["IOUT_SET"] == 4500  # held to rated
    write(sim, 0x0030, 4600)
    assert kinds(sim) == {"out_of_range": 1} and sim.registers["IOUT_SET"] == 4500


def test_over_temperature_latches_until_a_re_power_after_cooling():
    sim = SimulatedBic.create(0, "BIC-2200-48")
    sim.set_fault(Fault.OVER_TEMPERATURE, True)
    assert read(sim, 0x0040) == 0b1000_0010  # OTP + HI_TEMP
    assert read(sim, 0x0062) == 1050 and sim.target_current() == 0.0
    sim.power_cycle()  # still hot: trips again
    assert read(sim, 0x0040) & 0b10
    sim.set_fault(Fault.OVER_TEMPERATURE, False)  # cooled down
    assert read(sim, 0x0040) == 0b10  # latched, no longer hot
    sim.power_cycle()
    assert read(sim, 0x0040) == 0 and not sim.faults.output_inhibited


def test_ac_fail_recovers_by_itself_and_hv_ovp_needs_a_re_power():
    sim = SimulatedBic.create(0, "BIC-2200-48")
    sim.ac_fail = True
    assert read(sim, 0x0040) == 1 << 5 and read(sim, 0x0050) == 0
    assert not read(sim, 0x00C1) & 0b100  # PFC not OK
    sim.ac_fail = False
    assert read(sim, 0x0040) == 0 and read(sim, 0x0050) == 2300 and read(sim, 0x00C1) == 0x27
    sim.set_fault(Fault.HV_OVP, True)
    sim.set_fault(Fault.HV_OVP, False)
    assert read(sim, 0x0040) == 1 << 8 and sim.faults.output_inhibited
    sim.power_cycle()
    assert read(sim, 0x0040) == 0


def test_fan_fail_is_reported_without_shutdown_and_eeprom_error_stops_the_unit():
    sim = SimulatedBic.create(0, "BIC-2200-48")
    sim.set_fault(Fault.FAN_FAIL, True)
    assert read(sim, 0x0040) == 1 and read(sim, 0x0070) == 0 and not sim.faults.output_inhibited
    sim.set_fault(Fault.FAN_FAIL, False)
    assert read(sim, 0x0040) == 0 and read(sim, 0x0070) > 0
    sim.set_fault(Fault.EEPROM_ERROR, True)
    assert read(sim, 0x00C1) == 0x0065  # EEPER, DC not OK, still master/PFC/ready
    sim.set_fault(Fault.EEPROM_ERROR, False)
    assert read(sim, 0x00C1) & 1 << 6  # until re-powered
    sim.power_cycle()
    assert read(sim, 0x00C1) == 0x27


def test_eeprom_immediate_mode_counts_every_setpoint_write():
    sim = SimulatedBic.create(0, "BIC-2200-48", system_config=0x0003)  # EEP_OFF clear
    for raw in (500, 600, 600):
        write(sim, 0x0030, raw)
    write(sim, 0x0100, 1, size=1)  # DIRECTION_CTRL: volatile
    assert sim.eeprom_writes == {"IOUT_SET": 3} and sim.writes["DIRECTION_CTRL"] == 1
    sim.power_cycle()
    assert sim.registers["DIRECTION_CTRL"] == 0 and sim.registers["IOUT_SET"] == 600


NPB_REQ = 0x0C0100


def test_npb_charger_mode_takes_a_new_curve_only_at_the_next_output_on():
    sim = SimulatedBic.create(0, "NPB-1200-48", soc=0.5, dead_time_s=0.0, time_constant_s=0.1)
    assert sim.registers["CURVE_CONFIG"] == 0x0084 and sim.target_current() == 18.0
    write(sim, 0x00B0, 500, can_id=NPB_REQ)  # CURVE_CC 5 A
    assert sim.target_current() == 18.0  # still the latched curve
    write(sim, 0x0000, 0, size=1, can_id=NPB_REQ)
    write(sim, 0x0000, 1, size=1, can_id=NPB_REQ)
    assert sim.target_current() == 5.0
    write(sim, 0x0030, 1000, can_id=NPB_REQ)  # IOUT_SET: ignored in charger mode
    assert sim.target_current() == 5.0
    write(sim, 0x00B4, 0x0004, can_id=NPB_REQ)  # power-supply mode, after OFF->ON
    write(sim, 0x0000, 0, size=1, can_id=NPB_REQ)
    write(sim, 0x0000, 1, size=1, can_id=NPB_REQ)
    assert sim.target_current() == 10.0
    write(sim, 0x0030, 300, can_id=NPB_REQ)  # below the 3.6 A minimum
    write(sim, 0x0100, 1, size=1, can_id=NPB_REQ)  # no DIRECTION_CTRL on an NPB
    assert kinds(sim) == {"out_of_range": 1, "unknown_command": 1}
    for _ in range(30):
        sim.step(0.1)
    assert sim.plant.current_a == pytest.approx(10.0) and read(sim, 0x00B8, NPB_REQ) == 0b010


def test_npb_answers_on_its_own_ids_only_and_450_750_have_no_vin():
    small = SimulatedBic.create(0, "NPB-450-24")
    assert read(small, 0x0050, NPB_REQ) is None and read(small, 0x0060, NPB_REQ) > 0
    assert small.handle(REQ, bytes.fromhex("6000")) is None  # a BIC request: not for it
    small.set_fault(Fault.FAN_FAIL, True)
    assert read(small, 0x0040, NPB_REQ) == 0  # no fan bit on an NPB
    assert frames.encode_reply(small.family, 0, small.family.registers["READ_VOUT"], 1)[0] == (
        0x0C0000
    )


def test_control_commands_and_their_refusals():
    sim = SimulatedBic.create(0, "BIC-2200-48")
    assert apply_command(sim, "fault/over_temperature", "1") == "faults=['over_temperature']"
    apply_command(sim, "soc", "0.8")
    apply_command(sim, "mute", "on")
    assert sim.plant.soc == 0.8 and sim.muted and read(sim, 0x0060) is None
    apply_command(sim, "power_cycle", "")
    sim.violations.add("out_of_range", "x", 0.0)
    apply_command(sim, "reset_violations", "")
    assert sim.violations.count == 0
    for command, text, message in (
        ("fault/meteor", "1", "unknown fault 'meteor'"),
        ("soc", "80", "outside 0..1"),
        ("mute", "maybe", "must be 1/0"),
        ("explode", "", "unknown command"),
    ):
        with pytest.raises(ControlError, match=message):
            apply_command(sim, command, text)
