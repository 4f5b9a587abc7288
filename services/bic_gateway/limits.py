"""Range checks for values the gateway is asked to write.

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
from enum import Enum

from .codec import DOCUMENTED_SCALING, ScalingFactors, quantise
from .flags import (
    BidirectionalConfig,
    EepromWriteMode,
    OperationInit,
    decode_bidirectional_config,
    decode_system_config,
)
from .models import DeviceModel
from .registers import Kind, Register, RegisterRef, ValueRange, resolve


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
    factor = scaling.factor(register.scale) if register.scale else None
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


BIT_FIELD_CHECKS: dict[str, Callable[[int], list[str]]] = {
    "SYSTEM_CONFIG": _system_config_problems,
    "BIDIRECTIONAL_CONFIG": _bidirectional_config_problems,
}


def _check_bits(register: Register, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise SetpointRejected(
            f"{register.name} {value!r} rejected: expected a 16-bit word",
            register=register.name,
            value=value,
        )
    problems = BIT_FIELD_CHECKS[register.name](value)
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
) -> float:
    """Validate a value about to be written; returns it (quantised) or raises SetpointRejected.

    Numeric registers take engineering units (V, A); OPERATION/DIRECTION_CTRL and the two config
    words take their raw integer value.
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
            return _check_bits(register, value)
    raise SetpointRejected(  # pragma: no cover - no other writable kinds exist
        f"{register.name} cannot be written", register=register.name, value=value
    )
