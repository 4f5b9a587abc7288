"""One-time set-up of a unit for gateway control (docs/bic2200.md, "Provisioning").

Every word is read-modify-written: the reserved bits of SYSTEM_CONFIG and BIDIRECTIONAL_CONFIG
stay exactly as the unit reports them. Steps (each write goes through the normal write path:
validated, skipped when identical, counted by the wear governor, read back):
1. unlock: CAN control on, EEPROM writes **immediate** (EEP_CONFIG = 00) and EEP_OFF clear. A unit
   in an EEPROM delay mode (e.g. 0x0205) would otherwise store the boot values only after they
   stayed unchanged for 1 or 10 minutes, and setting EEP_OFF seconds later would leave its old
   boot values in the EEPROM; a unit in SVR mode would ignore them altogether;
2. store safe boot defaults (the safe idle setpoints: window voltages, minimum currents, charge)
   and read each one back;
3. BIDIRECTIONAL_CONFIG = battery mode (takes effect after a power cycle; until the gateway has
   seen one, the unit is not `controllable`);
4. SYSTEM_CONFIG = CAN control + the configured power-up state + EEP_OFF as configured;
5. read SYSTEM_CONFIG back after a pause: EEP_OFF reading 1 proves the firmware supports it.

The run is one confirmed batch for the wear governor: it starts only when the unit's interval has
ended and the budget holds all its EEPROM writes; the writes after it wait the borrowed intervals
out. Confirmation (``{"confirm": true}`` / ``--confirm``) is checked by ``commands.run_command``,
the one entry of every path (CLI, ``set/cmd``, ``set/provision``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .flags import (
    decode_bidirectional_config,
    encode_bidirectional_config,
)
from .limits import OperatingLimits
from .npb_provisioning import provision_charger
from .provisioning_steps import (
    EEP_OFF_SETTLE_S,
    OPERATION_INIT,
    detect_eep_off,
    start_batch,
    step_writer,
    system_config_words,
)
from .setpoint import SetpointPlan
from .unit import UnitDriver
from .wear import wears_eeprom


@dataclass(frozen=True)
class ProvisioningPlan:
    unlock: int | None  # SYSTEM_CONFIG for step 1, None if the unit already is so
    boot_defaults: dict[str, float | int]
    bidirectional: int
    system_config: int

    @property
    def max_eeprom_writes(self) -> int:
        """The most EEPROM writes the run can cost (boot defaults are stored: EEP_OFF clear)."""
        boot = sum(wears_eeprom(name, eep_off=False) for name in self.boot_defaults)
        return (self.unlock is not None) + boot + 2


def plan_provisioning(
    limits: OperatingLimits,
    current_system_config: int,
    current_bidirectional: int,
    *,
    eep_off: bool,
    operation_init: str,
) -> ProvisioningPlan:
    """Pure: the words and values to write, from the unit's current words (reserved bits kept)."""
    words = system_config_words(
        current_system_config, OPERATION_INIT[operation_init], eep_off, can_control=True
    )
    bidir = replace(decode_bidirectional_config(current_bidirectional), battery_mode=True)
    idle = SetpointPlan.safe_idle(limits.model, limits.window, limits.currents, "boot default")
    return ProvisioningPlan(
        words.unlock, idle.register_values(), encode_bidirectional_config(bidir), words.target
    )


def provision(
    driver: UnitDriver,
    *,
    eep_off: bool,
    operation_init: str,
    settle_s: float = EEP_OFF_SETTLE_S,
) -> dict[str, Any]:
    """Run the provisioning steps on one unit; returns a report for the user.

    Raises RuntimeError (with the reason) when the wear governor refuses the batch or a step
    fails. An NPB charger has its own steps (``npb_provisioning``).
    """
    if not driver.bidirectional:
        return provision_charger(
            driver, eep_off=eep_off, operation_init=operation_init, settle_s=settle_s
        )
    plan = plan_provisioning(
        driver.limits,
        int(driver.read("SYSTEM_CONFIG")),
        int(driver.read("BIDIRECTIONAL_CONFIG")),
        eep_off=eep_off,
        operation_init=operation_init,
    )
    start_batch(driver, plan.max_eeprom_writes)
    steps: list[dict[str, Any]] = []
    write = step_writer(driver, steps)
    if plan.unlock is not None:
        write("SYSTEM_CONFIG", plan.unlock)
    for name, value in plan.boot_defaults.items():
        write(name, value)
    bidir_written = write("BIDIRECTIONAL_CONFIG", plan.bidirectional)
    driver.raw.pop("SYSTEM_CONFIG", None)  # compare against a fresh read
    # no re-write on mismatch: an EEP_OFF bit that does not stick is the detection result
    write("SYSTEM_CONFIG", plan.system_config, retry=False)
    outcome = detect_eep_off(driver, eep_off, settle_s)
    if bidir_written or driver.record.battery_mode_unconfirmed:
        next_step = (
            "power-cycle the unit now (AC off for at least 10 s, then on): battery mode takes "
            "effect only after a re-power; the gateway reports it as controllable once it has "
            "seen the unit go away (or report AC_FAIL) and come back"
        )
    else:
        next_step = "battery mode was already active: no power cycle needed"
    return {
        "steps": steps,
        "can_control": outcome.final.can_control,
        "eep_off_supported": outcome.supported,
        "eeprom": outcome.eeprom,
        "next": next_step,
    }
