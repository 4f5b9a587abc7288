"""One-time set-up of a unit for gateway control (reference sections 3.3, 3.4, 5.3, 5.4).

Steps (each write goes through the normal write path: skipped when identical, read back):
1. if EEP_OFF is already set, clear it, so the next writes reach the EEPROM;
2. store safe boot defaults: the safe idle setpoints (window voltages, minimum currents, charge);
3. BIDIRECTIONAL_CONFIG = battery mode (takes effect after a power cycle);
4. SYSTEM_CONFIG = CAN control + the configured power-up state + EEP_OFF as configured;
5. read SYSTEM_CONFIG back after a pause: EEP_OFF reading 1 proves the firmware supports it.

Normal operation never writes SYSTEM_CONFIG or BIDIRECTIONAL_CONFIG; only this does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .flags import OperationInit, decode_system_config, encode_system_config, provisioning_config
from .setpoint import BatteryWindow, CurrentLimits, SetpointPlan
from .unit import UnitDriver

EEP_OFF_SETTLE_S = 0.3

OPERATION_INIT = {
    "off": OperationInit.OFF,
    "on": OperationInit.ON,
    "previous": OperationInit.PREVIOUS,
}


@dataclass(frozen=True)
class ProvisioningPlan:
    unlock: int | None  # SYSTEM_CONFIG with EEP_OFF cleared, if it was set
    boot_defaults: dict[str, float | int]
    bidirectional: int
    system_config: int


def plan_provisioning(
    driver_model,
    current_system_config: int,
    window: BatteryWindow,
    limits: CurrentLimits,
    *,
    eep_off: bool,
    operation_init: str,
) -> ProvisioningPlan:
    """Pure: the words and values to write, from the current SYSTEM_CONFIG."""
    target, bidir = provisioning_config(
        eep_off=eep_off, operation_init=OPERATION_INIT[operation_init]
    )
    unlock = None
    current = decode_system_config(current_system_config)
    if current.eep_off:
        unlocked = decode_system_config(target)
        unlock = encode_system_config(
            type(unlocked)(
                can_control=True,
                operation_init=unlocked.operation_init,
                eeprom_write=unlocked.eeprom_write,
                eep_off=False,
            )
        )
    idle = SetpointPlan.safe_idle(driver_model, window, limits, "boot default")
    return ProvisioningPlan(unlock, idle.register_values(), bidir, target)


def provision(
    driver: UnitDriver,
    window: BatteryWindow,
    limits: CurrentLimits,
    *,
    eep_off: bool,
    operation_init: str,
    settle_s: float = EEP_OFF_SETTLE_S,
) -> dict[str, Any]:
    """Run the provisioning steps on one unit; returns a report for the user."""
    current = int(driver.read("SYSTEM_CONFIG"))
    plan = plan_provisioning(
        driver.model, current, window, limits, eep_off=eep_off, operation_init=operation_init
    )
    steps: list[dict[str, Any]] = []

    def write(name: str, value: float | int) -> None:
        result = driver.write(name, value, safety=True)
        steps.append(result.to_json())
        if not result.ok:
            why = result.error or result.decision.reason
            raise RuntimeError(f"provisioning stopped at {name}: {why}")

    if plan.unlock is not None:
        write("SYSTEM_CONFIG", plan.unlock)
    for name, value in plan.boot_defaults.items():
        write(name, value)
    write("BIDIRECTIONAL_CONFIG", plan.bidirectional)
    driver.raw.pop("SYSTEM_CONFIG", None)  # compare against a fresh read
    # no re-write on mismatch: an EEP_OFF bit that does not stick is the detection result
    result = driver.write("SYSTEM_CONFIG", plan.system_config, safety=True, retry=False)
    steps.append(result.to_json())
    time.sleep(settle_s)
    final = decode_system_config(int(driver.read("SYSTEM_CONFIG")))
    supported: bool | None = final.eep_off if eep_off else driver.record.eep_off_supported
    driver.record.eep_off_supported = supported
    if driver.store is not None:
        driver.store.save()
    if eep_off and not final.eep_off:
        eeprom = (
            "firmware does not support EEP_OFF (older than ~02/2024): every setpoint "
            "write wears the EEPROM; the gateway rate-limits setpoint writes to one per "
            f"{driver.wear_policy.min_interval_s:.1f} s per register"
        )
    elif final.eep_off:
        eeprom = "EEP_OFF active: setpoint writes no longer wear the EEPROM"
    else:
        eeprom = "EEP_OFF not requested: setpoint writes wear the EEPROM (rate-limited)"
    return {
        "steps": steps,
        "can_control": final.can_control,
        "eep_off_supported": supported,
        "eeprom": eeprom,
        "next": "power-cycle the unit now (AC off/on): battery mode takes effect only after a "
        "re-power; afterwards the gateway reports it as controllable",
    }
