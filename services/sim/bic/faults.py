"""Injected faults and the manual's latching/recovery (pure; the device asks what they mean).

* over_temperature: OTP trips and shuts the output down; it stays tripped after cooling down
  until the unit is re-powered (HI_TEMP shows while it is still hot);
* ac_fail: the grid is gone; the unit stops and recovers by itself when the grid returns;
* fan_fail: FAN_FAIL is reported while the fan is locked; the manual names no shutdown for it;
* hv_ovp: HV over-voltage protection trips and stays until re-power;
* eeprom_error: SYSTEM_STATUS EEPER, the unit shuts down; it recovers only by a re-power after the
  cause is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    OVER_TEMPERATURE = "over_temperature"
    AC_FAIL = "ac_fail"
    FAN_FAIL = "fan_fail"
    HV_OVP = "hv_ovp"
    EEPROM_ERROR = "eeprom_error"


LATCHING = frozenset({Fault.OVER_TEMPERATURE, Fault.HV_OVP, Fault.EEPROM_ERROR})
SHUTS_DOWN = frozenset({Fault.OVER_TEMPERATURE, Fault.AC_FAIL, Fault.HV_OVP, Fault.EEPROM_ERROR})

# FAULT_STATUS bits (manual's bit table)
FAN_FAIL_BIT = 1 << 0
OTP_BIT = 1 << 1
AC_FAIL_BIT = 1 << 5
OP_OFF_BIT = 1 << 6
HI_TEMP_BIT = 1 << 7
HV_OVP_BIT = 1 << 8
# SYSTEM_STATUS bits
MASTER_BIT = 1 << 0
DC_OK_BIT = 1 << 1
PFC_OK_BIT = 1 << 2
READY_BIT = 1 << 5  # INITIAL_STATE: 1 = initialisation finished
EEPER_BIT = 1 << 6

_FAULT_BITS = {
    Fault.FAN_FAIL: FAN_FAIL_BIT,
    Fault.OVER_TEMPERATURE: OTP_BIT,
    Fault.AC_FAIL: AC_FAIL_BIT,
    Fault.HV_OVP: HV_OVP_BIT,
}


@dataclass
class FaultState:
    causes: set[Fault] = field(default_factory=set)  # conditions present now
    tripped: set[Fault] = field(default_factory=set)  # latched protections

    def set_cause(self, fault: Fault, present: bool) -> None:
        if present:
            self.causes.add(fault)
            if fault in LATCHING:
                self.tripped.add(fault)
        else:
            self.causes.discard(fault)

    def power_cycle(self) -> None:
        """Re-power: a latched protection clears only if its cause is gone."""
        self.tripped = {f for f in self.tripped if f in self.causes}

    @property
    def active(self) -> set[Fault]:
        return {f for f in self.causes if f not in LATCHING} | self.tripped

    @property
    def output_inhibited(self) -> bool:
        return bool(self.active & SHUTS_DOWN)

    def fault_bits(self, operation_on: bool) -> int:
        bits = 0
        for fault in self.active:
            bits |= _FAULT_BITS.get(fault, 0)
        if Fault.OVER_TEMPERATURE in self.causes:
            bits |= HI_TEMP_BIT
        if not operation_on:
            bits |= OP_OFF_BIT
        return bits

    def system_status(self, output_on: bool) -> int:
        bits = MASTER_BIT | READY_BIT
        if Fault.AC_FAIL not in self.active:
            bits |= PFC_OK_BIT
        if output_on and not self.output_inhibited:
            bits |= DC_OK_BIT
        if Fault.EEPROM_ERROR in self.active:
            bits |= EEPER_BIT
        return bits
