"""The gateway's command queue (pure): priorities, bounds, coalescing, staleness."""

from __future__ import annotations

import pytest

from services.bic_gateway.command_queue import (
    COMMAND_EVERY,
    CONTROLLER_OFFLINE,
    SENDER_OFFLINE,
    CommandQueue,
    Entry,
    Turn,
    Why,
)

IDLE = {"poll_pending": False, "poll_ready": False}
POLL_READY = {"poll_pending": True, "poll_ready": True}
POLL_PACED = {"poll_pending": True, "poll_ready": False}  # a cycle runs, its next read must wait


def setpoint(value, t=0.0, unit=0, command="power") -> Entry:
    return Entry(unit, command, value, queued_at=t)


def command(payload, t=0.0, unit=0, key=None, name="cmd", request_id=None) -> Entry:
    return Entry(unit, name, payload, queued_at=t, key=key, request_id=request_id)


def drain(q: CommandQueue, **poll) -> list:
    out = []
    while (turn := q.next(**(poll or IDLE))) is not None:
        out.append(turn)
    return out


# --- priorities ------------------------------------------------------------------------------
def test_an_empty_queue_has_nothing_to_do_unless_a_poll_is_ready():
    q = CommandQueue()
    assert q.next(**IDLE) is None and q.next(**POLL_PACED) is None
    assert q.next(**POLL_READY) is Turn.POLL
    assert len(q) == 0


def test_controller_status_goes_before_everything():
    q = CommandQueue()
    q.put(command("dump", t=0))
    q.put(setpoint(-500, t=1))
    q.controller_status("online")
    assert q.next(**POLL_READY) is Turn.STATUS
    assert q.take_status() == ("online", False)
    assert q.take_status() is None  # taken once


def test_setpoints_before_polls_before_commands():
    q = CommandQueue()
    cmd = command({"cmd": "dump"}, t=0)
    sp = setpoint(-500, t=1)
    q.put(cmd)
    q.put(sp)
    assert q.next(**IDLE) is sp  # although it came later
    assert q.next(**POLL_PACED) is None  # the command waits while a poll cycle runs
    assert q.next(**POLL_READY) is Turn.POLL
    assert q.next(**IDLE) is cmd
    assert q.next(**IDLE) is None


def test_a_setpoint_that_went_before_a_pending_poll_owes_it_the_next_turn():
    q = CommandQueue()
    q.put(setpoint(1, t=0))
    assert q.next(**POLL_READY).payload == 1
    q.put(setpoint(2, t=1))
    assert q.next(**POLL_PACED) is None  # owed, but the read is still paced: wait for it
    assert q.next(**POLL_READY) is Turn.POLL  # then the poll, before the waiting setpoint
    assert q.next(**POLL_READY).payload == 2
    q.put(setpoint(3, t=2))
    assert q.next(**POLL_READY) is Turn.POLL


def test_a_setpoint_flood_cannot_stop_polling():
    """Each setpoint taken while a poll cycle is pending yields the next turn to a poll read."""
    q = CommandQueue()
    turns = []
    for i in range(100):
        q.put(setpoint(i, t=i))
        turns.append(q.next(**POLL_READY))
        turns.append(q.next(**POLL_READY))
    assert turns.count(Turn.POLL) == 100
    assert [t.payload for t in turns if isinstance(t, Entry)] == list(range(100))


def test_no_poll_is_owed_when_none_was_pending():
    q = CommandQueue()
    q.put(setpoint(1))
    q.next(**IDLE)
    q.put(setpoint(2))
    assert q.next(**POLL_READY).payload == 2


def test_setpoints_of_several_units_go_oldest_first():
    q = CommandQueue()
    q.put(setpoint(1, t=5, unit=1))
    q.put(setpoint(0, t=3, unit=0))
    assert [e.unit for e in drain(q)] == [0, 1]


def test_commands_go_first_in_first_out_across_units():
    q = CommandQueue()
    for t, unit in enumerate([1, 0, 1, 0]):
        q.put(command(t, t=t, unit=unit))
    assert [e.payload for e in drain(q)] == [0, 1, 2, 3]


# --- coalescing ------------------------------------------------------------------------------
def test_a_newer_setpoint_replaces_the_queued_one_whatever_its_topic():
    q = CommandQueue()
    first = setpoint(-800, t=0)
    assert q.put(first).replaced is None
    put = q.put(setpoint(3.0, t=1, command="current"))
    assert put.refused is None and put.replaced is first
    assert [(e.command, e.payload) for e in drain(q)] == [("current", 3.0)]


def test_setpoints_of_different_units_do_not_replace_each_other():
    q = CommandQueue()
    q.put(setpoint(1, unit=0))
    assert q.put(setpoint(2, unit=1)).replaced is None
    assert len(q) == 2


def test_a_command_for_the_same_register_replaces_the_queued_one_in_place():
    q = CommandQueue()
    q.put(command(0, t=0, key="OPERATION", name="state"))
    q.put(command({"cmd": "dump"}, t=1))
    old = q.put(command(1, t=2, key="OPERATION", name="state"))
    assert old.replaced is not None and old.replaced.payload == 0
    assert [e.payload for e in drain(q)] == [1, {"cmd": "dump"}]


def test_commands_without_a_key_never_replace_each_other():
    q = CommandQueue()
    for i in range(3):
        assert q.put(command({"cmd": "vread", "id": i})).replaced is None
    assert len(q) == 3


def test_the_same_key_on_another_unit_is_another_register():
    q = CommandQueue()
    q.put(command(0, key="OPERATION", unit=0))
    assert q.put(command(1, key="OPERATION", unit=1)).replaced is None


# --- bounds ----------------------------------------------------------------------------------
def test_a_full_command_class_refuses_instead_of_growing():
    q = CommandQueue(max_commands=3)
    for i in range(3):
        assert q.put(command(i, t=i)).refused is None
    put = q.put(command(99, t=4))
    assert put.refused is not None and put.refused.why is Why.QUEUE_FULL
    assert put.refused.entry.payload == 99
    assert "command queue full (3 waiting for unit 0)" in put.refused.reason
    assert len(q) == 3
    assert [e.payload for e in drain(q)] == [0, 1, 2]  # the queued ones are kept


def test_the_bound_is_per_unit():
    q = CommandQueue(max_commands=1)
    assert q.put(command(0, unit=0)).refused is None
    assert q.put(command(1, unit=1)).refused is None
    assert q.put(command(2, unit=0)).refused is not None


def test_a_full_class_still_takes_a_newer_value_for_a_queued_register():
    q = CommandQueue(max_commands=1)
    q.put(command(0, key="OPERATION"))
    put = q.put(command(1, key="OPERATION"))
    assert put.refused is None and put.replaced is not None
    assert [e.payload for e in drain(q)] == [1]


def test_a_flood_of_setpoints_and_commands_stays_bounded():
    q = CommandQueue(max_commands=8)
    refused = 0
    for i in range(10_000):
        refused += q.put(setpoint(i, t=i)).refused is not None
        refused += q.put(command(i, t=i, key=None if i % 2 else "OPERATION")).refused is not None
    assert len(q) == 1 + 8
    assert refused == 5_000 - 7  # the keyless (odd) ones once 7 wait; the keyed ones coalesce


# --- staleness -------------------------------------------------------------------------------
def test_offline_controller_drops_its_queued_setpoints_and_keeps_commands():
    q = CommandQueue()
    q.put(setpoint(-900, t=0, unit=0))
    q.put(setpoint(-900, t=0, unit=1))
    q.put(command(1, key="OPERATION"))
    dropped = q.controller_status("offline")
    assert sorted(d.entry.unit for d in dropped) == [0, 1]
    assert {d.why for d in dropped} == {Why.SENDER_OFFLINE}
    assert dropped[0].reason == SENDER_OFFLINE
    assert q.offline_pending
    assert q.next(**IDLE) is Turn.STATUS
    assert q.take_status() == ("offline", True)
    assert not q.offline_pending
    assert [e.payload for e in drain(q)] == [1]


def test_setpoints_are_refused_while_the_controller_is_offline_and_taken_again_after():
    q = CommandQueue()
    q.controller_status("offline")
    put = q.put(setpoint(-500))
    assert put.refused is not None and put.refused.why is Why.CONTROLLER_OFFLINE
    assert put.refused.reason == CONTROLLER_OFFLINE
    assert q.put(command(0, key="OPERATION")).refused is None  # other commands still go
    q.controller_status("online")
    assert q.put(setpoint(-500)).refused is None


@pytest.mark.parametrize("status", ["online", "", "  ", "ONLINE", "something"])
def test_only_offline_counts_as_offline(status):
    q = CommandQueue()
    q.put(setpoint(1))
    assert q.controller_status(status) == []
    assert not q.offline_pending and q.put(setpoint(2)).refused is None


@pytest.mark.parametrize("status", ["offline", " OFFLINE\n"])
def test_offline_is_read_leniently(status):
    q = CommandQueue()
    q.put(setpoint(1))
    assert len(q.controller_status(status)) == 1


def test_an_offline_followed_by_online_is_still_reported_as_having_gone_offline():
    q = CommandQueue()
    q.controller_status("offline")
    q.controller_status("online")
    assert q.take_status() == ("online", True)


def test_entries_waiting_longer_than_max_age_are_dropped_as_too_old():
    q = CommandQueue(max_age_s=10)
    q.put(setpoint(1, t=0))
    q.put(command("a", t=0))
    q.put(command("b", t=5))
    assert q.expire(10.0) == []  # exactly max_age is still fine
    dropped = q.expire(10.5)
    assert [(d.entry.payload, d.why) for d in dropped] == [(1, Why.TOO_OLD), ("a", Why.TOO_OLD)]
    assert "waited 10.5 s in the queue (more than 10 s)" in dropped[0].reason
    assert [e.payload for e in drain(q)] == ["b"]


def test_a_replacing_setpoint_restarts_the_age():
    q = CommandQueue(max_age_s=1)
    q.put(setpoint(1, t=0))
    q.put(setpoint(2, t=0.9))
    assert q.expire(1.5) == []
    assert [e.payload for e in drain(q)] == [2]


def test_an_old_command_behind_a_freshly_replaced_one_still_expires():
    q = CommandQueue(max_age_s=10)
    q.put(command(0, t=0, key="OPERATION"))
    q.put(command("old", t=1))
    q.put(command(1, t=9, key="OPERATION"))  # replaces the head in place, with a newer time
    dropped = q.expire(11.5)
    assert [d.entry.payload for d in dropped] == ["old"]
    assert [e.payload for e in drain(q)] == [1]


def test_a_setpoint_flood_slows_commands_down_but_cannot_starve_them():
    q = CommandQueue()
    for i in range(3):
        q.put(command(f"c{i}", t=i))
    served = []
    for i in range(3 * (COMMAND_EVERY + 1)):
        q.put(setpoint(i, t=10 + i))  # always one waiting
        served.append(q.next(**IDLE))
    commands = [i for i, e in enumerate(served) if not e.is_setpoint]
    assert commands == [COMMAND_EVERY, 2 * COMMAND_EVERY + 1, 3 * COMMAND_EVERY + 2]
    assert [served[i].payload for i in commands] == ["c0", "c1", "c2"]


def test_an_owed_command_still_waits_for_a_poll_cycle():
    q = CommandQueue()
    q.put(command("c"))
    for i in range(COMMAND_EVERY):
        q.put(setpoint(i, t=i))
        assert q.next(**IDLE).is_setpoint
    q.put(setpoint("next", t=9))
    assert q.next(**POLL_PACED).payload == "next"  # polls before commands; setpoints go on
    assert q.next(**IDLE).payload == "c"


def test_setpoints_without_waiting_commands_owe_them_nothing():
    q = CommandQueue()
    for i in range(2 * COMMAND_EVERY):
        q.put(setpoint(i, t=i))
        q.next(**IDLE)
    q.put(command("c", t=100))
    q.put(setpoint("s", t=101))
    assert q.next(**IDLE).payload == "s"
