"""The one validation path for every value the gateway is asked to write, whatever its source
(``set/power``, ``set/current``, ``set/charge``, ``set/state``, ``set/cmd``, the CLI, provisioning).

Two layers, both data-driven:
* the **model's** documented setpoint ranges (``check_setpoint``), the hard limits of the unit;
* the **configured** operating limits (``OperatingLimits``): the battery window and the current
  limits. Both voltage setpoints must lie inside the window (VOUT_SET above it would charge past
  the battery maximum; REVERSE_VOUT_SET below it would discharge past the minimum, and either one
  on the wrong side of the battery makes the unit's 5 % wrong-way trickle push the battery out of
  the window), the charge current inside [minimum, max charge], the discharge current inside
  [minimum, max discharge] (``WRITE_BOUNDS``).

Policy: **reject by default**. A value outside the model's documented range raises
``SetpointRejected`` whose message states the allowed range and unit (the gateway publishes it on
its error topic); nothing is written. ``RangePolicy.CLAMP`` is an explicit opt-in that returns the
nearest bound instead -- callers using it must publish the value actually written.

In both modes the returned value is quantised to the register resolution (e.g. 0.01 V), i.e. it is
exactly the value the unit will hold. The documented bounds are multiples of the resolution, so a
value inside the range never rounds out of it. Non-finite values are always rejected.

Registers without a numeric range are checked too: 1-byte enumerations against their documented
values, SYSTEM_CONFIG / BIDIRECTIONAL_CONFIG against their reserved field values and bits. These are
never clamped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import Enum

from .codec import DOCUMENTED_SCALING, ScalingFactors, quantise
from .flags import (
    BATTERY_MODE_BIT,
    SYSTEM_CONFIG_DEFINED_MASK,
    BidirectionalConfig,
    EepromWriteMode,
    OperationInit,
    decode_bidirectional_config,
    decode_system_config,
)
from .models import DeviceModel
from .npb_flags import CURVE_CONFIG_DEFINED_MASK
from .registers import Kind, Register, RegisterRef, ValueRange, resolve

CURRENT_STEP = Decimal("0.01")  # A, the IOUT resolution


class RangePolicy(Enum):
    REJECT = "reject"
    CLAMP = "clamp"


class SetpointRejected(ValueError):
    def __init__(
        self,
        message: str,
        *,
        register: str,
        value: object,
        value_range: ValueRange | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(message)
        self.register = register
        self.value = value
        self.value_range = value_range
        self.unit = unit


def _digits(register: Register, scaling: ScalingFactors) -> int:
    if register.scale is None:
        return 0  # plain counts (minutes)
    factor = scaling.factor(register.scale)
    if factor is None:
        return 2
    return max(0, -int(factor.as_tuple().exponent))


def format_value(register: Register, value: float, scaling: ScalingFactors) -> str:
    unit = f" {register.unit}" if register.unit else ""
    return f"{value:.{_digits(register, scaling)}f}{unit}"


def describe_range(
    model: DeviceModel, ref: RegisterRef, scaling: ScalingFactors = DOCUMENTED_SCALING
) -> str:
    register = resolve(ref)
    allowed = model.setpoint_range(register)
    low = format_value(register, allowed.minimum, scaling)
    high = format_value(register, allowed.maximum, scaling)
    return f"{low} .. {high}"


def _check_number(
    model: DeviceModel,
    register: Register,
    value: float,
    policy: RangePolicy,
    scaling: ScalingFactors,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SetpointRejected(
            f"{register.name}: {value!r} is not a finite number",
            register=register.name,
            value=value,
            unit=register.unit,
        )
    allowed = model.setpoint_range(register)
    if not allowed.contains(value):
        if policy is RangePolicy.REJECT:
            raise SetpointRejected(
                f"{register.name} {format_value(register, value, scaling)} rejected: "
                f"{model.name} accepts {describe_range(model, register, scaling)}",
                register=register.name,
                value=value,
                value_range=allowed,
                unit=register.unit,
            )
        value = min(max(value, allowed.minimum), allowed.maximum)
    return quantise(register, value, scaling)


def _check_choice(register: Register, value: object) -> int:
    names = register.choice_names
    if isinstance(value, bool) or not isinstance(value, int) or value not in names:
        allowed = ", ".join(f"{raw} ({name})" for raw, name in names.items())
        raise SetpointRejected(
            f"{register.name} {value!r} rejected: allowed {allowed}",
            register=register.name,
            value=value,
        )
    return value


def _system_config_problems(raw: int) -> list[str]:
    config = decode_system_config(raw)
    problems = []
    if config.operation_init is OperationInit.RESERVED:
        problems.append("OPERATION_INIT 0b11 is reserved")
    if config.eeprom_write is EepromWriteMode.RESERVED:
        problems.append("EEP_CONFIG 0b11 is reserved")
    if config.reserved:
        problems.append(f"reserved bits 0x{config.reserved:04X} set")
    return problems


def _bidirectional_config_problems(raw: int) -> list[str]:
    config: BidirectionalConfig = decode_bidirectional_config(raw)
    return [f"reserved bits 0x{config.reserved:04X} set"] if config.reserved else []


def _curve_config_problems(raw: int) -> list[str]:
    reserved = raw & ~CURVE_CONFIG_DEFINED_MASK & 0xFFFF
    return [f"reserved bits 0x{reserved:04X} set"] if reserved else []


BIT_FIELD_CHECKS: dict[str, Callable[[int], list[str]]] = {
    "SYSTEM_CONFIG": _system_config_problems,
    "BIDIRECTIONAL_CONFIG": _bidirectional_config_problems,
    "CURVE_CONFIG": _curve_config_problems,
}


RESERVED_MASKS: dict[str, int] = {
    "SYSTEM_CONFIG": 0xFFFF & ~SYSTEM_CONFIG_DEFINED_MASK,
    "BIDIRECTIONAL_CONFIG": 0xFFFF & ~(1 << BATTERY_MODE_BIT),
    "CURVE_CONFIG": 0xFFFF & ~CURVE_CONFIG_DEFINED_MASK,
}


def _check_bits(register: Register, value: object, current_raw: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise SetpointRejected(
            f"{register.name} {value!r} rejected: expected a 16-bit word",
            register=register.name,
            value=value,
        )
    reserved = RESERVED_MASKS[register.name]
    if current_raw is not None:
        # read-modify-write: reserved bits must stay exactly as the unit reports them
        if (value ^ current_raw) & reserved:
            raise SetpointRejected(
                f"{register.name} 0x{value:04X} rejected: it would change reserved bits "
                f"(the unit holds 0x{current_raw:04X}); reserved bits are preserved, never "
                "set or cleared",
                register=register.name,
                value=value,
            )
        value_to_check = value & ~reserved
    else:
        value_to_check = value
    problems = BIT_FIELD_CHECKS[register.name](value_to_check)
    if problems:
        raise SetpointRejected(
            f"{register.name} 0x{value:04X} rejected: {'; '.join(problems)}",
            register=register.name,
            value=value,
        )
    return value


def check_setpoint(
    model: DeviceModel,
    ref: RegisterRef,
    value: float,
    *,
    policy: RangePolicy = RangePolicy.REJECT,
    scaling: ScalingFactors = DOCUMENTED_SCALING,
    current_raw: int | None = None,
) -> float:
    """Validate a value against the model; returns it (quantised) or raises SetpointRejected.

    Numeric registers take engineering units (V, A); OPERATION/DIRECTION_CTRL and the two config
    words take their raw integer value. ``current_raw`` (config words): the unit's word, whose
    reserved bits the new value must carry unchanged.
    """
    register = resolve(ref)
    if not register.writable:
        raise SetpointRejected(f"{register.name} is read-only", register=register.name, value=value)
    match register.kind:
        case Kind.NUMBER:
            return _check_number(model, register, value, policy, scaling)
        case Kind.CHOICE:
            return _check_choice(register, value)
        case Kind.BITS:
            return _check_bits(register, value, current_raw)
    raise SetpointRejected(  # pragma: no cover - no other writable kinds exist
        f"{register.name} cannot be written", register=register.name, value=value
    )


# --- configured operating limits ---------------------------------------------------------------


@dataclass(frozen=True)
class BatteryWindow:
    """Battery voltage window: no discharge at/below ``min_v``, no charge at/above ``max_v``."""

    min_v: float
    max_v: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_v) and math.isfinite(self.max_v)):
            raise ValueError("battery window bounds must be finite")
        if not self.min_v < self.max_v:
            raise ValueError(f"battery window min {self.min_v} V must be below max {self.max_v} V")


@dataclass(frozen=True)
class CurrentLimits:
    """Configured current limits in A; None = use the model's documented limit."""

    max_charge_a: float | None = None
    max_discharge_a: float | None = None
    min_current_a: float | None = None  # e.g. to follow a source that says 20 % instead of 1 %


@dataclass(frozen=True)
class EffectiveLimits:
    min_a: float
    max_charge_a: float
    max_discharge_a: float  # 0 for a charge-only unit (NPB)


def quantise_current(value: float, rounding: str) -> float:
    return float(Decimal(repr(value)).quantize(CURRENT_STEP, rounding=rounding))


def effective_limits(model: DeviceModel, limits: CurrentLimits) -> EffectiveLimits:
    """Model limits tightened by configuration; raises ValueError for an impossible combination.

    A charge-only model (NPB) has no discharge range: its discharge maximum is 0 and its minimum
    current is the charge minimum (about 20 % of its maximum)."""
    charge = model.setpoint_range("IOUT_SET")
    discharge = model.setpoint_range("REVERSE_IOUT_SET") if model.bidirectional else None
    for name in ("max_charge_a", "max_discharge_a", "min_current_a"):
        configured = getattr(limits, name)
        if configured is not None and not (math.isfinite(configured) and configured >= 0):
            raise ValueError(f"{name} must be a finite, non-negative current, got {configured}")

    def tighter_max(documented: float, configured: float | None) -> float:
        return documented if configured is None else min(documented, configured)

    minima = [charge.minimum, limits.min_current_a or 0.0]
    if discharge is not None:
        minima.append(discharge.minimum)
    result = EffectiveLimits(
        min_a=quantise_current(max(minima), ROUND_CEILING),
        max_charge_a=quantise_current(
            tighter_max(charge.maximum, limits.max_charge_a), ROUND_FLOOR
        ),
        max_discharge_a=(
            0.0
            if discharge is None
            else quantise_current(
                tighter_max(discharge.maximum, limits.max_discharge_a), ROUND_FLOOR
            )
        ),
    )
    maxima = [result.max_charge_a] + ([result.max_discharge_a] if discharge is not None else [])
    if result.min_a > min(maxima):
        raise ValueError(
            f"minimum current {result.min_a} A exceeds a maximum "
            f"(charge {result.max_charge_a} A, discharge {result.max_discharge_a} A)"
        )
    return result


def checked_window(model: DeviceModel, window: BatteryWindow) -> BatteryWindow:
    """The window quantised to 0.01 V; raises SetpointRejected if the model cannot hold it.

    A charger (NPB) never uses the window minimum as a setpoint (it has no discharge cut-off):
    only the maximum, its VOUT_SET, has to fit the model."""
    if not model.bidirectional:
        return BatteryWindow(
            min_v=quantise("VOUT_SET", window.min_v),
            max_v=check_setpoint(model, "VOUT_SET", window.max_v),
        )
    return BatteryWindow(
        min_v=check_setpoint(model, "REVERSE_VOUT_SET", window.min_v),
        max_v=check_setpoint(model, "VOUT_SET", window.max_v),
    )


@dataclass(frozen=True)
class Bound:
    """Where one side of a register's configured range comes from (declarative)."""

    attribute: str  # of the window or the effective current limits
    what: str  # for the message


WINDOW_BOUNDS = (Bound("min_v", "battery window min"), Bound("max_v", "battery window max"))
CHARGE_BOUNDS = (Bound("min_a", "minimum current"), Bound("max_charge_a", "max charge current"))

# register -> (lower, upper) bounds from the configuration, on top of the model range; the NPB's
# curve voltages and current obey the same window and charge limits as its setpoints
WRITE_BOUNDS: dict[str, tuple[Bound, Bound]] = {
    "VOUT_SET": WINDOW_BOUNDS,
    "REVERSE_VOUT_SET": WINDOW_BOUNDS,
    "IOUT_SET": CHARGE_BOUNDS,
    "REVERSE_IOUT_SET": (
        Bound("min_a", "minimum current"),
        Bound("max_discharge_a", "max discharge current"),
    ),
    "CURVE_CC": CHARGE_BOUNDS,
    "CURVE_CV": WINDOW_BOUNDS,
    "CURVE_FV": WINDOW_BOUNDS,
    "CHG_RST_VBAT": WINDOW_BOUNDS,
}


@dataclass(frozen=True)
class OperatingLimits:
    """The model plus the configured battery window and current limits: what may be written."""

    model: DeviceModel
    window: BatteryWindow
    currents: CurrentLimits = CurrentLimits()

    def __post_init__(self) -> None:
        checked_window(self.model, self.window)  # raises SetpointRejected if it cannot fit
        effective_limits(self.model, self.currents)  # raises ValueError if impossible

    def bounds(self, ref: RegisterRef) -> tuple[float, float] | None:
        """The configured range of a numeric setpoint register (None: model range only)."""
        bounds = WRITE_BOUNDS.get(resolve(ref).name)
        if bounds is None:
            return None
        effective = effective_limits(self.model, self.currents)
        window = checked_window(self.model, self.window)
        sources = {**vars(window), **vars(effective)}
        return sources[bounds[0].attribute], sources[bounds[1].attribute]

    def check(
        self,
        ref: RegisterRef,
        value: float,
        *,
        policy: RangePolicy = RangePolicy.REJECT,
        scaling: ScalingFactors = DOCUMENTED_SCALING,
        current_raw: int | None = None,
    ) -> float:
        """Model range, then the configured range; returns the value to write (quantised)."""
        register = resolve(ref)
        checked = check_setpoint(
            self.model, register, value, policy=policy, scaling=scaling, current_raw=current_raw
        )
        bounds = WRITE_BOUNDS.get(register.name)
        if bounds is None:
            return checked
        low, high = self.bounds(register)  # type: ignore[misc]
        if low <= checked <= high:
            return checked
        if policy is RangePolicy.CLAMP:
            return quantise(register, min(max(checked, low), high), scaling)
        shown = format_value(register, checked, scaling)
        raise SetpointRejected(
            f"{register.name} {shown} rejected: outside the configured "
            f"{format_value(register, low, scaling)} ({bounds[0].what}) .. "
            f"{format_value(register, high, scaling)} ({bounds[1].what})",
            register=register.name,
            value=value,
            value_range=ValueRange(low, high),
            unit=register.unit,
        )
