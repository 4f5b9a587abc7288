"""The decision for one register write, as a pure function (reference sections 5.2, 10.3).

``explicit`` marks a person's one-off command (CLI): it is counted and limited by the EEPROM
budget like every write, but not held back by the minimum interval meant for control loops.

Order: range check (``limits.check_setpoint``) -> raw value -> read-compare (skip identical) ->
EEPROM wear guard -> write. The caller sends the write, records it in the ledger and reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .codec import DOCUMENTED_SCALING, ScalingFactors, to_raw
from .limits import RangePolicy, SetpointRejected, check_setpoint
from .models import DeviceModel
from .registers import Kind, RegisterRef, resolve
from .wear import WearGuard, needs_write


class Action(Enum):
    WRITE = "write"
    SKIP = "skip"  # the unit already holds the value
    DEFER = "defer"  # wear guard: not now (minimum interval); retry later
    REJECT = "reject"  # invalid value: report, never write


@dataclass(frozen=True)
class WriteDecision:
    register: str
    action: Action
    value: float | int | None  # engineering value to write (quantised), None when rejected
    raw: int | None
    reason: str


def raw_for(ref: RegisterRef, value: float | int, scaling: ScalingFactors) -> int:
    register = resolve(ref)
    if register.kind is Kind.NUMBER:
        return to_raw(register, value, scaling)
    return int(value)


def decide_write(
    model: DeviceModel,
    ref: RegisterRef,
    value: float | int,
    current_raw: int | None,
    guard: WearGuard,
    now: float,
    *,
    eep_off: bool,
    safety: bool = False,
    explicit: bool = False,
    policy: RangePolicy = RangePolicy.REJECT,
    scaling: ScalingFactors = DOCUMENTED_SCALING,
) -> WriteDecision:
    register = resolve(ref)
    try:
        checked = check_setpoint(model, register, value, policy=policy, scaling=scaling)
    except SetpointRejected as exc:
        return WriteDecision(register.name, Action.REJECT, None, None, str(exc))
    raw = raw_for(register, checked, scaling)
    if not needs_write(current_raw, raw):
        return WriteDecision(register.name, Action.SKIP, checked, raw, "unit already holds it")
    allowed, why = guard.may_write(register, now, eep_off, safety=safety)
    if not allowed and explicit and guard.ledger.eeprom_total < guard.policy.budget:
        # a person's one-off command: counted like any write, not held back by the interval
        allowed, why = True, f"{register.name}: explicit command (wear interval not applied)"
    if not allowed:
        return WriteDecision(register.name, Action.DEFER, checked, raw, why)
    return WriteDecision(register.name, Action.WRITE, checked, raw, why)
