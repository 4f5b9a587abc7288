"""The manual's bus timing as the simulator checks it, and its answers on a virtual bus: a delay
within the 5 ms the manual promises, seeded lost replies, violations for requests too close."""

from __future__ import annotations

import uuid

import can
import pytest

from services.sim.bic import frames
from services.sim.bic.bus_loop import SimBusLoop
from services.sim.bic.device import SimulatedBic
from services.sim.bic.timing import BusTiming, TimingRules


def test_request_spacing_per_unit_and_margin_after_any_reply():
    timing = BusTiming(TimingRules(tolerance_s=0.0))
    assert timing.request([0], 1.000) == []
    assert timing.request([1], 1.005) == []  # another unit: its own 20 ms
    assert [k for _a, k, _d in timing.request([0], 1.019)] == ["request_too_soon"]
    timing.replied(1.030)
    found = timing.request([1], 1.033)
    assert [(a, k) for a, k, _d in found] == [(1, "reply_margin")]
    assert "3.0 ms after a reply" in found[0][2]
    assert timing.request([0, 1], 1.060) == []  # a broadcast counts for both


def test_tolerance_forgives_timestamp_granularity_only():
    timing = BusTiming(TimingRules(tolerance_s=0.001))
    timing.request([0], 0.0)
    assert timing.request([0], 0.0195) == []
    assert timing.request([0], 0.0375) != []  # 18 ms


def test_reply_delays_stay_within_the_configured_window_and_losses_are_seeded():
    rules = TimingRules(reply_min_s=0.001, reply_max_s=0.004, lost_reply_rate=0.25, seed=7)
    first, second = BusTiming(rules), BusTiming(rules)
    a = [first.reply_delay() for _ in range(400)]
    b = [second.reply_delay() for _ in range(400)]
    assert a == b  # same seed, same story
    lost = a.count(None)
    assert 60 < lost < 140  # about a quarter
    assert all(0.001 <= d <= 0.004 for d in a if d is not None)
    assert BusTiming(TimingRules(lost_reply_rate=0.0)).reply_delay() is not None


@pytest.fixture
def served():
    """One unit behind a SimBusLoop on a fresh virtual channel; a controller bus beside it."""

    def start(**rules):
        channel = f"sim-bic-{uuid.uuid4().hex}"
        unit = SimulatedBic.create(0, "BIC-2200-48")
        accept = {"can_id": 0x0C0300, "can_mask": frames.ADDRESS_MASK, "extended": True}
        sim_bus = can.Bus(interface="virtual", channel=channel, can_filters=[accept])
        loop = SimBusLoop(sim_bus, [unit], timing=TimingRules(**rules)).start()
        reply = {"can_id": 0x0C0200, "can_mask": frames.ADDRESS_MASK, "extended": True}
        ctl = can.Bus(interface="virtual", channel=channel, can_filters=[reply])
        opened.append((loop, sim_bus, ctl))
        return unit, loop, ctl

    opened: list = []
    yield start
    for loop, sim_bus, ctl in opened:
        loop.stop()
        sim_bus.shutdown()
        ctl.shutdown()


def ask(ctl: can.BusABC, data: str) -> can.Message:
    msg = can.Message(arbitration_id=0x0C0300, data=bytes.fromhex(data), is_extended_id=True)
    ctl.send(msg)
    return msg


def test_a_read_is_answered_after_the_drawn_delay(served):
    unit, _loop, ctl = served(reply_min_s=0.003, reply_max_s=0.004)
    sent = ask(ctl, "6100")
    reply = ctl.recv(timeout=2)
    assert reply is not None and bytes(reply.data[:2]) == bytes.fromhex("6100")
    assert reply.timestamp - sent.timestamp >= 0.003  # not at once, as the old simulator did
    assert unit.violations.count == 0


def test_lost_replies_are_not_sent(served):
    unit, loop, ctl = served(lost_reply_rate=1.0)
    ask(ctl, "6000")
    assert ctl.recv(timeout=0.2) is None and loop.answered == 0
    with loop.lock:
        assert loop.lost == unit.lost_replies == 1


def test_requests_too_close_together_are_recorded_on_the_unit(served):
    unit, loop, ctl = served()
    ask(ctl, "6000")
    ask(ctl, "6100")  # at once: far less than 20 ms later
    assert ctl.recv(timeout=2) is not None and ctl.recv(timeout=2) is not None
    with loop.lock:
        found = dict(unit.violations.by_kind)
    assert found.get("request_too_soon") == 1
