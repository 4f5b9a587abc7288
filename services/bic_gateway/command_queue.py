"""The gateway's command queue: what the bus worker does next, as pure logic with explicit ``now``.

MQTT handlers put parsed commands here; the one bus worker asks ``next`` what to do. Priorities
(docs/bic2200.md, "Command queue"):

1. **controller status** (``offline`` -> safe idle): always first;
2. **setpoints** (``set/power``, ``set/current``, ``set/charge``): one per unit, a newer one
   replaces the queued one (last value wins), so a flood never piles up;
3. **polls**: the worker's own reads. A setpoint may go before a pending poll read, but then the
   next turn is the poll's (``_poll_owed``), so a setpoint flood can slow polling, never stop it;
4. **other commands** (``set/state``, ``set/cmd``, ``set/provision``): first in, first out, at
   most ``max_commands`` per unit; one for the same register as a queued one replaces it; when
   full, a new one is refused (the caller says so on ``error``). They wait while a poll cycle
   is in progress; while setpoints keep coming, a waiting command gets every
   ``COMMAND_EVERY``-th turn, so a setpoint flood slows them down but cannot starve them.

Queued setpoints are the controller's: when it goes ``offline`` they are dropped (they are
stale: its last will says it can no longer stand by them), and setpoints are refused until it
says ``online`` again. Anything that waited longer than ``max_age_s`` is dropped as stale too.
Every dropped or refused entry is handed back to the caller to report; nothing disappears
silently. Not thread-safe: the caller holds one lock around it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from shared.contract.status import is_offline

COMMAND_EVERY = 4  # under a setpoint flood, a waiting command goes after this many setpoints


class Turn(Enum):
    STATUS = "status"  # a controller status to act on (maybe safe idle)
    POLL = "poll"  # the worker's next poll read


@dataclass(frozen=True)
class Entry:
    unit: int
    command: str  # the command topic's last part: power, current, charge, state, cmd, provision
    payload: Any  # already parsed and checked by the handler
    queued_at: float
    key: str | None = None  # commands with the same unit and key replace each other
    request_id: object = None  # set/cmd's id, for the reply

    @property
    def is_setpoint(self) -> bool:
        return self.command in SETPOINT_COMMANDS


SETPOINT_COMMANDS = frozenset({"power", "current", "charge"})


class Why(Enum):
    """Why an entry does not run (one log line per kind, see ``shared.log_reminder``)."""

    QUEUE_FULL = "queue_full"
    CONTROLLER_OFFLINE = "controller_offline"  # refused: setpoints wait for the controller
    SENDER_OFFLINE = "sender_offline"  # queued setpoint dropped when the controller went offline
    TOO_OLD = "too_old"
    SUPERSEDED = "superseded"  # a newer command for the same register replaced it
    INTERRUPTED = "interrupted"  # the worker gave way to a safe idle mid-way


@dataclass(frozen=True)
class Dropped:
    """An entry that will not run (or not completely), and why; the caller reports it."""

    entry: Entry
    why: Why
    reason: str


@dataclass(frozen=True)
class Put:
    """The result of putting an entry: ``refused`` (it was not queued) or what it replaced."""

    refused: Dropped | None = None
    replaced: Entry | None = None


@dataclass
class CommandQueue:
    max_commands: int = 16  # per unit
    max_age_s: float = 10.0
    _setpoints: dict[int, Entry] = field(default_factory=dict)
    _commands: dict[int, deque[Entry]] = field(default_factory=dict)
    _status: str | None = None  # the latest controller status not yet acted on
    _offline_pending: bool = False  # an `offline` arrived since the worker last took the status
    _controller_offline: bool = False
    _poll_owed: bool = False
    _setpoints_in_a_row: int = 0  # taken while a command was waiting

    # --- producers (MQTT side) ---------------------------------------------------------------
    def put(self, entry: Entry) -> Put:
        if entry.is_setpoint:
            if self._controller_offline:
                return Put(refused=Dropped(entry, Why.CONTROLLER_OFFLINE, CONTROLLER_OFFLINE))
            replaced = self._setpoints.get(entry.unit)
            self._setpoints[entry.unit] = entry
            return Put(replaced=replaced)
        queue = self._commands.setdefault(entry.unit, deque())
        if entry.key is not None:
            for index, queued in enumerate(queue):
                if queued.key == entry.key:
                    queue[index] = entry  # same register: the last value wins, in its place
                    return Put(replaced=queued)
        if len(queue) >= self.max_commands:
            reason = (
                f"command queue full ({self.max_commands} waiting for unit {entry.unit}): "
                "refused, send it again later"
            )
            return Put(refused=Dropped(entry, Why.QUEUE_FULL, reason))
        queue.append(entry)
        return Put()

    def controller_status(self, status: str) -> list[Dropped]:
        """Record the controller's status; on ``offline`` return the queued setpoints, dropped."""
        offline = is_offline(status)
        self._status = status
        self._controller_offline = offline
        if not offline:
            return []
        self._offline_pending = True
        dropped = [Dropped(e, Why.SENDER_OFFLINE, SENDER_OFFLINE) for e in self._setpoints.values()]
        self._setpoints.clear()
        return dropped

    # --- consumer (bus worker) ---------------------------------------------------------------
    @property
    def offline_pending(self) -> bool:
        """An ``offline`` is waiting to be acted on (whatever runs now should give way)."""
        return self._offline_pending

    def take_status(self) -> tuple[str, bool] | None:
        """The latest controller status and whether an ``offline`` came since the last take."""
        if self._status is None:
            return None
        taken = (self._status, self._offline_pending)
        self._status, self._offline_pending = None, False
        return taken

    def expire(self, now: float) -> list[Dropped]:
        """Drop (and return) entries queued longer than ``max_age_s`` ago."""
        dropped = [
            Dropped(e, Why.TOO_OLD, self._too_old(e, now))
            for e in self._setpoints.values()
            if now - e.queued_at > self.max_age_s
        ]
        for item in dropped:
            del self._setpoints[item.entry.unit]
        for unit, queue in self._commands.items():
            # not only the head: a replaced entry keeps its place with a newer time
            old = [e for e in queue if now - e.queued_at > self.max_age_s]
            if old:
                gone = {id(e) for e in old}
                self._commands[unit] = deque(e for e in queue if id(e) not in gone)
                dropped += [Dropped(e, Why.TOO_OLD, self._too_old(e, now)) for e in old]
        return dropped

    def _too_old(self, entry: Entry, now: float) -> str:
        return (
            f"dropped: waited {now - entry.queued_at:.1f} s in the queue "
            f"(more than {self.max_age_s:g} s), too old to apply"
        )

    def next(self, *, poll_pending: bool, poll_ready: bool) -> Entry | Turn | None:
        """What to do now, by priority; None = nothing now (wait for pacing or new work).

        ``poll_pending``: a poll cycle is in progress or due; ``poll_ready``: its next read may
        be sent now (request pacing allows it).
        """
        if self._status is not None:
            return Turn.STATUS
        if self._poll_owed and poll_pending:
            if not poll_ready:
                return None  # the owed read waits out its pacing; nothing overtakes it
            self._poll_owed = False
            return Turn.POLL
        command_owed = self._setpoints_in_a_row >= COMMAND_EVERY
        if self._setpoints and not (command_owed and not poll_pending and self._has_commands()):
            entry = min(self._setpoints.values(), key=lambda e: e.queued_at)
            del self._setpoints[entry.unit]
            self._poll_owed = poll_pending
            self._setpoints_in_a_row += self._has_commands()
            return entry
        if poll_ready:
            self._poll_owed = False
            return Turn.POLL
        if poll_pending:
            return None
        heads = [q[0] for q in self._commands.values() if q]
        if not heads:
            return None
        entry = min(heads, key=lambda e: e.queued_at)
        self._commands[entry.unit].popleft()
        self._setpoints_in_a_row = 0
        return entry

    def _has_commands(self) -> bool:
        return any(self._commands.values())

    def __len__(self) -> int:
        return len(self._setpoints) + sum(len(q) for q in self._commands.values())


CONTROLLER_OFFLINE = (
    "controller is offline: setpoints are refused until it is online again "
    "(the unit stays in safe idle)"
)
SENDER_OFFLINE = "dropped: the controller went offline before this setpoint was applied"
