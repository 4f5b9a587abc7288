"""The simulated BIC-2200: register map, EEPROM semantics, battery-mode physics, and the
gateway's transport against it over python-can's in-process virtual bus."""

from __future__ import annotations

import itertools
import json
import time

import can
import pytest
from bic_gateway.bic_stack import unit_on_virtual_bus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS, read_request, write_request
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.models import identify
from services.bic_gateway.transport import CanTransport, NoResponse
from services.bic_gateway.unit import UnitDriver
from services.sim.bic.device import SimulatedBic

BIC48 = identify("BIC-2200-48")  # the gateway's model
SIM48 = "BIC-2200-48"  # the simulator's


def ask(sim: SimulatedBic, frame) -> bytes | None:
    return sim.handle(frame.arbitration_id, frame.data)


def test_reads_echo_the_command_and_writes_get_no_answer():
    sim = SimulatedBic.create(0, SIM48)
    assert ask(sim, read_request(0, "MFR_MODEL_B6B11")) == b"\x83\x0000-48 "
    assert ask(sim, read_request(0, "SCALING_FACTOR")) == bytes.fromhex("c000557606000000")
    assert ask(sim, write_request(0, "IOUT_SET", 2000)) is None
    assert ask(sim, read_request(0, "IOUT_SET")) == bytes.fromhex("3000d007")  # manual M7
    assert ask(sim, read_request(1, "IOUT_SET")) is None  # another address


def test_out_of_range_writes_are_ignored():
    sim = SimulatedBic.create(0, SIM48)
    before = ask(sim, read_request(0, "VOUT_SET"))
    ask(sim, write_request(0, "VOUT_SET", 7000))  # 70 V > 65 V
    assert ask(sim, read_request(0, "VOUT_SET")) == before


def test_eeprom_counts_follow_eep_off_and_power_cycle_restores_saved_values():
    sim = SimulatedBic.create(0, SIM48)  # provisioned: SYSTEM_CONFIG 0x0403 (EEP_OFF)
    ask(sim, write_request(0, "IOUT_SET", 500))
    assert sim.eeprom_writes == {} and sim.writes == {"IOUT_SET": 1}
    ask(sim, write_request(0, "OPERATION", 0))
    assert sim.eeprom_writes == {"OPERATION": 1}  # not covered by EEP_OFF
    sim.power_cycle()  # power-up ON (0x0403) and the old EEPROM current
    assert sim.registers["IOUT_SET"] == 4000 and sim.registers["OPERATION"] == 1
    ask(sim, write_request(0, "SYSTEM_CONFIG", 0x0003))  # EEP_OFF cleared
    ask(sim, write_request(0, "IOUT_SET", 500))
    assert sim.eeprom_writes["IOUT_SET"] == 1 and sim.eeprom["IOUT_SET"] == 500


def test_old_firmware_drops_the_eep_off_bit():
    sim = SimulatedBic.create(0, SIM48, eep_off_supported=False)
    ask(sim, write_request(0, "SYSTEM_CONFIG", 0x0403))
    assert ask(sim, read_request(0, "SYSTEM_CONFIG")) == bytes.fromhex("c2000300")


def test_battery_mode_becomes_active_only_after_a_power_cycle():
    sim = SimulatedBic.create(0, SIM48, provisioned=False)
    assert not sim.battery_mode_active
    ask(sim, write_request(0, "BIDIRECTIONAL_CONFIG", 1))
    assert not sim.battery_mode_active
    sim.power_cycle()
    assert sim.battery_mode_active


def settle(sim: SimulatedBic, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.1)):
        sim.step(0.1)


def test_reverse_trickle_when_the_voltages_are_on_the_wrong_side():
    sim = SimulatedBic.create(0, SIM48, soc=0.5, dead_time_s=0.0, time_constant_s=0.1)
    ask(sim, write_request(0, "VOUT_SET", 5000))  # 50 V, battery ~51 V, charge direction
    settle(sim)
    assert sim.plant.current_a == pytest.approx(-2.25)  # 5 % of 45 A
    ask(sim, write_request(0, "VOUT_SET", 5600))
    ask(sim, write_request(0, "IOUT_SET", 1000))
    settle(sim)
    assert sim.plant.current_a == pytest.approx(10.0)
    ask(sim, write_request(0, "REVERSE_VOUT_SET", 5200))  # above the battery
    ask(sim, write_request(0, "DIRECTION_CTRL", 1))
    settle(sim)
    assert sim.plant.current_a == pytest.approx(2.25)  # charges although told to discharge
    ask(sim, write_request(0, "REVERSE_VOUT_SET", 4600))
    ask(sim, write_request(0, "REVERSE_IOUT_SET", 800))
    settle(sim)
    assert sim.plant.current_a == pytest.approx(-8.0)
    assert sim.ac_power_w < -350  # fed to the grid, after losses


def test_current_follows_after_dead_time_and_ramp():
    sim = SimulatedBic.create(0, SIM48, soc=0.5, dead_time_s=1.0, time_constant_s=1.0)
    ask(sim, write_request(0, "VOUT_SET", 5600))
    ask(sim, write_request(0, "IOUT_SET", 2000))
    sim.step(0.5)
    assert sim.plant.current_a == 0.0  # dead time
    settle(sim, 1.5)
    assert 0 < sim.plant.current_a < 20
    settle(sim, 10)
    assert sim.plant.current_a == pytest.approx(20.0)


@pytest.fixture
def virtual_bus():
    with unit_on_virtual_bus() as (sim, _loop, channel):
        gw_bus = can.Bus(interface="virtual", channel=channel, can_filters=[id_filter(0xC0200)])
        yield sim, gw_bus, channel
        gw_bus.shutdown()


def test_transport_paces_requests_and_matches_echoes(virtual_bus):
    sim, gw_bus, _channel = virtual_bus
    sent: list[float] = []
    transport = CanTransport(gw_bus)
    transport.on_frame_sent = lambda _msg: sent.append(time.monotonic())
    for _ in range(5):
        assert transport.read(0, "READ_VIN").value == 230.0
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 0.0199
    assert transport.stats.responses == 5 and transport.stats.timeouts == 0


def test_stale_frames_are_never_attributed_to_another_register(virtual_bus):
    sim, gw_bus, channel = virtual_bus
    injector = can.Bus(interface="virtual", channel=channel)
    # a late answer for READ_VOUT and one from another unit arrive before our READ_VIN request
    stale = bytes.fromhex("60006009")
    injector.send(can.Message(arbitration_id=BIC_IDS.response_id(0), data=stale))
    injector.send(can.Message(arbitration_id=BIC_IDS.response_id(1), data=b"\x50\x00\x01\x09"))
    transport = CanTransport(gw_bus)
    assert transport.read(0, "READ_VIN").value == 230.0
    assert transport.stats.dropped_frames == 2
    injector.shutdown()


def test_timeouts_are_retried_a_bounded_number_of_times(virtual_bus):
    sim, gw_bus, _channel = virtual_bus
    sim.muted = True
    transport = CanTransport(gw_bus, timeout_s=0.02, retries=2)
    with pytest.raises(NoResponse):
        transport.read(0, "READ_VOUT")
    assert transport.stats.requests == 3 and transport.stats.timeouts == 3


def test_driver_identifies_writes_reads_back_and_persists(virtual_bus, tmp_path):
    sim, gw_bus, _channel = virtual_bus
    store = StateStore(tmp_path / "state.json").load()
    driver = UnitDriver(CanTransport(gw_bus), 0, store.unit(0), store)
    info = driver.identify()
    assert info.model is BIC48 and info.serial == "240215000000" and driver.controllable
    result = driver.write("IOUT_SET", 12.34)
    assert result.ok and result.verified == 12.34 and sim.registers["IOUT_SET"] == 1234
    assert driver.write("IOUT_SET", 12.34).decision.reason == "unit already holds it"
    # EEP_OFF: that write did not wear the EEPROM; it is counted, saved with the next save
    assert store.dirty and StateStore(store.path).load().unit(0).ledger.writes == {}
    assert driver.write("OPERATION", 0).ok  # wears the EEPROM: on disk at once
    again = StateStore(tmp_path / "state.json").load()
    assert again.unit(0).ledger.writes == {"IOUT_SET": 1, "OPERATION": 1}
    assert again.unit(0).ledger.eeprom_writes == {"OPERATION": 1}
    assert again.unit(0).ledger.device == "240215000000" and not store.dirty


def test_energy_counters_round_trip_and_older_state_files_start_them_at_zero(tmp_path):
    path = tmp_path / "state.json"
    store = StateStore(path).load()
    store.unit(0).charged_kwh, store.unit(0).discharged_kwh = 1.25, 0.5
    store.save()
    again = StateStore(path).load().unit(0)
    assert (again.charged_kwh, again.discharged_kwh) == (1.25, 0.5)
    data = json.loads(path.read_text())
    data["units"]["0"]["fault_counts"] = {"otp": 2}
    del data["units"]["0"]["energy_kwh"]  # as written before the energy counters existed
    path.write_text(json.dumps(data))
    old = StateStore(path).load().unit(0)
    assert (old.charged_kwh, old.discharged_kwh, old.fault_counts) == (0.0, 0.0, {"otp": 2})
    data["units"]["0"]["energy_kwh"] = {"charged": -1}
    path.write_text(json.dumps(data))
    assert StateStore(path).load().units == {}  # refused (moved aside), not trusted
    assert (tmp_path / "state.json.corrupt").exists()


def test_corrupt_state_file_is_moved_aside(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    store = StateStore(path).load()
    assert store.units == {} and (tmp_path / "state.json.corrupt").exists()


def test_eeprom_delay_mode_saves_only_after_the_values_stayed_unchanged():
    sim = SimulatedBic.create(0, SIM48, system_config=0x0205)  # 10-minute delay, EEP_OFF clear
    boot = sim.eeprom["IOUT_SET"]
    ask(sim, write_request(0, "IOUT_SET", 500))
    sim.step(599.0)
    ask(sim, write_request(0, "VOUT_SET", 5500))  # a change restarts the delay
    sim.step(599.0)
    assert sim.eeprom["IOUT_SET"] == boot and sim.eeprom_writes == {}
    sim.step(1.0)
    assert sim.eeprom["IOUT_SET"] == 500 and sim.eeprom["VOUT_SET"] == 5500
    # values still waiting are lost when EEP_OFF is set (or by a power cut)
    ask(sim, write_request(0, "IOUT_SET", 600))
    ask(sim, write_request(0, "SYSTEM_CONFIG", 0x0605))
    sim.step(601.0)
    sim.power_cycle()
    assert sim.registers["IOUT_SET"] == 500


def test_svr_mode_ignores_voltage_current_and_operation_writes():
    sim = SimulatedBic.create(0, SIM48, system_config=0x0002)  # CAN_CTRL = 0
    before = dict(sim.registers)
    for register, raw in (("IOUT_SET", 500), ("VOUT_SET", 5000), ("OPERATION", 0)):
        ask(sim, write_request(0, register, raw))
        assert sim.registers[register] == before[register]
    assert sim.writes == {}
    ask(sim, write_request(0, "SYSTEM_CONFIG", 0x0003))  # CAN control on: now it listens
    ask(sim, write_request(0, "IOUT_SET", 500))
    assert sim.registers["IOUT_SET"] == 500


def test_system_config_keeps_reserved_bits_as_written():
    sim = SimulatedBic.create(0, SIM48, system_config=0x1003)
    assert ask(sim, read_request(0, "SYSTEM_CONFIG")) == bytes.fromhex("c2000310")
    sim.power_cycle()
    assert sim.registers["SYSTEM_CONFIG"] == 0x1003
