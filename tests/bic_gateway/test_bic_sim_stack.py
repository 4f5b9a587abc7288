"""The simulator as a process: faults injected on its control topic reach the gateway with the
manual's latching, violations are published and seen by the tests' check, --help exits."""

from __future__ import annotations

import subprocess
import sys

import can
import pytest
from bic_gateway.bic_stack import json_where, payload, private_bus, sim_env, sim_violations
from harness import PROJECT

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"
SIM = "canbridge/sim/bic/0"


def otp(active: bool):
    return lambda m: payload(m)["flags"]["otp"]["active"] is active


def test_injected_over_temperature_latches_until_the_unit_is_re_powered(stack):
    watcher, _bus, _procs = stack()
    watcher.publish(f"{SIM}/set/fault/over_temperature", "1")
    watcher.wait_for(f"{BASE}/fault", where=otp(True))
    watcher.publish(f"{SIM}/set/fault/over_temperature", "0")  # cooled down: still tripped
    watcher.clear()
    state = watcher.wait_for(f"{SIM}/state")
    assert payload(state)["faults"] == ["over_temperature"]
    watcher.publish(f"{SIM}/set/power_cycle", "1")
    watcher.wait_for(f"{BASE}/fault", where=otp(False))


def test_a_violation_is_published_and_counted(stack):
    # unit 1 is simulated but not the gateway's: the frame sent to it disturbs no timing of unit 0
    watcher, bus, _procs = stack(sim={"CANBRIDGE_UNITS": "[0, 1]"})
    with can.Bus(
        interface="udp_multicast", channel=bus["CANBRIDGE_CAN__CHANNEL"],
        port=int(bus["CANBRIDGE_CAN__PORT"]),
    ) as raw:  # fmt: skip
        raw.send(can.Message(arbitration_id=0x0C0301, data=b"\x99\x00", is_extended_id=True))
    # (it may also land within 5 ms of a reply to unit 0: a `reply_margin` for unit 1)
    event = payload(
        watcher.wait_for("canbridge/sim/bic/1/violations", where=json_where(kind="unknown_command"))
    )
    assert "0x0099" in event["detail"]
    seen = sim_violations(watcher, unit=1)["by_kind"]
    assert seen.get("unknown_command") == 1 and set(seen) <= {"unknown_command", "reply_margin"}


def test_help_lists_the_options_and_starts_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "services.sim.bic", "--help"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stderr == ""
    for option in ("model", "lost_reply_rate", "can.channel", "set/<command>", "violations"):
        assert option in done.stdout


def test_the_gateway_rides_out_lost_replies_within_the_rules(stack, probe):
    # a fifth of the replies never come (seeded): the gateway retries after its timeout, keeps
    # the unit online, applies a setpoint, and its retries keep the manual's timing (teardown)
    watcher, _bus, _procs = stack(sim={"CANBRIDGE_LOST_REPLY_RATE": "0.2", "CANBRIDGE_SEED": "5"})
    controller = probe("charge-controller")
    assert controller.publish(f"{BASE}/set/power", '{"value": -500}') == 0
    watcher.wait_for(f"{BASE}/state", where=lambda m: payload(m)["current"] < -5)
    seen = len(watcher.received(f"{BASE}/state"))
    watcher.wait(lambda: len(watcher.received(f"{BASE}/state")) >= seen + 3, "3 more polls")
    availability = [m.text for m in watcher.received(f"{BASE}/availability")]
    assert "offline" not in availability[availability.index("online") :]
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["lost_replies"] >= 3)


def test_the_simulator_plays_an_npb_charger_on_the_npb_identifiers(service, tmp_path):
    bus = private_bus()
    env = sim_env(bus, tmp_path, CANBRIDGE_MODEL="NPB-1200-24", CANBRIDGE_UNITS="[3]")
    sim = service(["-m", "services.sim.bic"], "sim", env)
    accept = {"can_id": 0x0C0000, "can_mask": 0x1FFFFF00, "extended": True}
    with can.Bus(
        interface="udp_multicast", channel=bus["CANBRIDGE_CAN__CHANNEL"],
        port=int(bus["CANBRIDGE_CAN__PORT"]), can_filters=[accept],
    ) as raw:  # fmt: skip
        reply = None
        for _ in range(100):  # until the simulator has joined the multicast group
            ask = can.Message(arbitration_id=0x0C0103, data=b"\x83\x00", is_extended_id=True)
            raw.send(ask)
            reply = raw.recv(timeout=0.1)
            if reply is not None:
                break
        assert reply is not None, sim.log()
    assert reply.arbitration_id == 0x0C0003 and bytes(reply.data) == b"\x83\x0000-24 "
