"""One-time set-up of an NPB charger for gateway control (docs/npb.md, "Provisioning").

Like the BIC's (``provisioning.py``): every word read-modify-written with its reserved bits kept,
every write through the normal write path (validated, skipped when identical, counted by the wear
governor, read back), the whole run one confirmed batch for the governor. Steps:
1. unlock: EEPROM writes immediate and EEP_OFF clear, so the boot values below are really stored;
   the power-up state set to "off" (or "previous" if so configured: "on" would start charging
   at the NPB's large minimum current after every power cut, before anyone asked);
2. safe boot values: VOUT_SET = battery window maximum, IOUT_SET = the minimum current;
3. CURVE_CONFIG: CUVE cleared = power-supply mode, in which VOUT_SET/IOUT_SET act at once (in
   charger mode the unit follows its own curve and ignores them); all other bits kept;
4. SYSTEM_CONFIG with EEP_OFF as configured; read back after a pause (EEP_OFF support);
5. OPERATION = 0: the charger's idle. The switch to power-supply mode takes effect at the next
   output OFF->ON, which the first charge setpoint makes.

The NPB's SYSTEM_CONFIG CAN_CTRL bit is not described by the sources: it is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .flags import OperationInit
from .limits import checked_window, effective_limits
from .npb_flags import with_charger_mode
from .provisioning_steps import (
    EEP_OFF_SETTLE_S,
    OPERATION_INIT,
    SystemConfigWords,
    detect_eep_off,
    start_batch,
    step_writer,
    system_config_words,
)
from .unit import UnitDriver
from .wear import wears_eeprom

#: "on" is not offered for a charger (see module docstring)
CHARGER_OPERATION_INIT = {**OPERATION_INIT, "on": OperationInit.OFF}


@dataclass(frozen=True)
class ChargerProvisioningPlan:
    boot_defaults: dict[str, float | int]
    curve_config: int
    system_config: SystemConfigWords

    @property
    def max_eeprom_writes(self) -> int:
        """Unlock, boot values, CURVE_CONFIG, SYSTEM_CONFIG, OPERATION (EEP_OFF clear)."""
        stored = [name for name in self.boot_defaults if wears_eeprom(name, eep_off=False)]
        return (self.system_config.unlock is not None) + len(stored) + 3


def plan_charger_provisioning(
    window_max_v: float,
    min_current_a: float,
    current_system_config: int,
    current_curve_config: int,
    *,
    eep_off: bool,
    operation_init: str,
) -> ChargerProvisioningPlan:
    """Pure: the words and values to write, from the unit's current words (reserved bits kept)."""
    words = system_config_words(
        current_system_config, CHARGER_OPERATION_INIT[operation_init], eep_off
    )
    return ChargerProvisioningPlan(
        {"VOUT_SET": window_max_v, "IOUT_SET": min_current_a},
        with_charger_mode(current_curve_config, charger_mode=False),
        words,
    )


def provision_charger(
    driver: UnitDriver,
    *,
    eep_off: bool,
    operation_init: str,
    settle_s: float = EEP_OFF_SETTLE_S,
) -> dict[str, Any]:
    """Run the steps on one NPB; returns a report. Raises RuntimeError with the reason."""
    limits = driver.limits
    window = checked_window(limits.model, limits.window)
    plan = plan_charger_provisioning(
        window.max_v,
        effective_limits(limits.model, limits.currents).min_a,
        int(driver.read("SYSTEM_CONFIG")),
        int(driver.read("CURVE_CONFIG")),
        eep_off=eep_off,
        operation_init=operation_init,
    )
    start_batch(driver, plan.max_eeprom_writes)
    steps: list[dict[str, Any]] = []
    write = step_writer(driver, steps)
    if plan.system_config.unlock is not None:
        write("SYSTEM_CONFIG", plan.system_config.unlock)
    for name, value in plan.boot_defaults.items():
        write(name, value)
    write("CURVE_CONFIG", plan.curve_config)
    driver.raw.pop("SYSTEM_CONFIG", None)  # compare against a fresh read
    write(
        "SYSTEM_CONFIG", plan.system_config.target, retry=False
    )  # a mismatch is the EEP_OFF answer
    write("OPERATION", 0)
    outcome = detect_eep_off(driver, eep_off, settle_s)
    return {
        "steps": steps,
        "power_supply_mode": True,
        "eep_off_supported": outcome.supported,
        "eeprom": outcome.eeprom,
        "next": "output is off; the first charge setpoint switches it on, which also puts the "
        "power-supply mode into effect (no power cycle needed)",
    }
