"""The decision for one register write, as a pure function: the one path every write takes,
whatever its source (controller, Home Assistant, CLI, ``set/cmd``, provisioning, safe idle).

Order:
1. control mode: a unit in SVR mode (SYSTEM_CONFIG CAN_CTRL = 0) ignores CAN setpoints, so they
   are refused with that reason instead of being sent for nothing;
2. validation (``limits.OperatingLimits.check``): model range and configured battery window and
   current limits; config words keep their reserved bits;
3. raw value -> read-compare: skip what the unit already holds;
4. the unit's wear governor: write, hold back (``DEFER``: applied when the interval ends unless a
   newer request supersedes it) or refuse (budget used up).

The caller sends the write, records it with the governor and reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .codec import DOCUMENTED_SCALING, ScalingFactors, to_raw
from .flags import decode_system_config
from .limits import OperatingLimits, RangePolicy, SetpointRejected
from .registers import Kind, RegisterRef, resolve
from .wear import WearGovernor, WriteKind, needs_write

#: registers the unit takes from CAN only with CAN_CTRL = 1 (manual: voltage, current and
#: ON/OFF); the direction and the discharge pair are refused too: without CAN control the
#: gateway must not pretend to control anything
CAN_CONTROLLED: frozenset[str] = frozenset(
    {"VOUT_SET", "IOUT_SET", "REVERSE_VOUT_SET", "REVERSE_IOUT_SET", "OPERATION", "DIRECTION_CTRL"}
)

SVR_MODE = (
    "unit is in SVR mode (SYSTEM_CONFIG CAN_CTRL = 0): the front potentiometer sets voltage and "
    "current and the unit ignores CAN setpoints; run `init_mode` (with confirm) to enable CAN "
    "control"
)


class Action(Enum):
    WRITE = "write"
    SKIP = "skip"  # the unit already holds the value
    DEFER = "defer"  # wear governor: held, applied when the interval ends
    REJECT = "reject"  # invalid value, SVR mode or budget used up: report, never write


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


def control_problem(system_config_raw: int | None) -> str | None:
    """Why CAN setpoints would be ignored (None: CAN control is on, or not known yet)."""
    if system_config_raw is not None and not decode_system_config(system_config_raw).can_control:
        return SVR_MODE
    return None


def decide_write(
    limits: OperatingLimits,
    ref: RegisterRef,
    value: float | int,
    current_raw: int | None,
    governor: WearGovernor,
    now: float,
    *,
    eep_off: bool,
    system_config_raw: int | None = None,
    kind: WriteKind = WriteKind.ROUTINE,
    policy: RangePolicy = RangePolicy.REJECT,
    scaling: ScalingFactors = DOCUMENTED_SCALING,
) -> WriteDecision:
    register = resolve(ref)
    problem = control_problem(system_config_raw)
    if problem and register.name in CAN_CONTROLLED:
        return WriteDecision(register.name, Action.REJECT, None, None, problem)
    try:
        checked = limits.check(
            register, value, policy=policy, scaling=scaling, current_raw=current_raw
        )
    except SetpointRejected as exc:
        return WriteDecision(register.name, Action.REJECT, None, None, str(exc))
    raw = raw_for(register, checked, scaling)
    if not needs_write(current_raw, raw):
        return WriteDecision(register.name, Action.SKIP, checked, raw, "unit already holds it")
    verdict = governor.may_write(register, now, eep_off, kind)
    if verdict.allowed:
        return WriteDecision(register.name, Action.WRITE, checked, raw, verdict.reason)
    action = Action.DEFER if verdict.retry else Action.REJECT
    return WriteDecision(register.name, action, checked, raw, verdict.reason)
