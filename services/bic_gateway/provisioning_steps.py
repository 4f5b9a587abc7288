"""The steps every provisioning run shares, whatever the family (``provisioning`` for the BIC,
``npb_provisioning`` for the NPB): the wear governor's batch, one write through the normal write
path that stops the run on a refusal, and the EEP_OFF detection at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .flags import (
    EepromWriteMode,
    OperationInit,
    SystemConfig,
    decode_system_config,
    encode_system_config,
)
from .unit import UnitDriver
from .wear import WriteKind
from .write_path import Action

EEP_OFF_SETTLE_S = 0.3

#: settings `provision.operation_init` -> SYSTEM_CONFIG OPERATION_INIT
OPERATION_INIT = {
    "off": OperationInit.OFF,
    "on": OperationInit.ON,
    "previous": OperationInit.PREVIOUS,
}


@dataclass(frozen=True)
class SystemConfigWords:
    unlock: int | None  # step 1: immediate EEPROM writes, EEP_OFF clear; None if already so
    target: int  # the last step: EEP_OFF as configured


def system_config_words(
    current_raw: int, operation_init: OperationInit, eep_off: bool, **fields: bool
) -> SystemConfigWords:
    """SYSTEM_CONFIG before and after the boot values are stored (reserved bits kept); ``fields``:
    other flags to set (the BIC's ``can_control``)."""
    unlocked = replace(
        decode_system_config(current_raw),
        operation_init=operation_init,
        eeprom_write=EepromWriteMode.IMMEDIATE,
        eep_off=False,
        **fields,
    )
    unlock = encode_system_config(unlocked)
    return SystemConfigWords(
        None if unlock == current_raw else unlock,
        encode_system_config(replace(unlocked, eep_off=eep_off)),
    )


def start_batch(driver: UnitDriver, max_eeprom_writes: int) -> None:
    verdict = driver.governor.may_start_batch(driver.wall_clock(), max_eeprom_writes)
    if not verdict.allowed:
        raise RuntimeError(f"provisioning refused: {verdict.reason}")


def step_writer(driver: UnitDriver, steps: list[dict[str, Any]]) -> Callable[..., bool]:
    """``write(name, value, retry=True) -> written``: one step, reported in ``steps``; raises
    RuntimeError on a refusal, or on a failed read-back when retried (without retry a mismatch
    is a result: the EEP_OFF detection)."""

    def write(name: str, value: float | int, *, retry: bool = True) -> bool:
        result = driver.write(
            name, value, kind=WriteKind.PROVISIONING, retry=retry, source="init_mode"
        )
        steps.append(result.to_json())
        if result.decision.action is Action.REJECT:
            raise RuntimeError(f"provisioning stopped at {name}: {result.decision.reason}")
        if result.error and retry:
            raise RuntimeError(f"provisioning stopped at {name}: {result.error}")
        return result.decision.action is Action.WRITE

    return write


@dataclass(frozen=True)
class EepOffOutcome:
    final: SystemConfig
    supported: bool | None
    eeprom: str  # for the user


def detect_eep_off(driver: UnitDriver, eep_off: bool, settle_s: float) -> EepOffOutcome:
    """Read SYSTEM_CONFIG back after a pause: EEP_OFF reading 1 proves the firmware has it."""
    time.sleep(settle_s)
    final = decode_system_config(int(driver.read("SYSTEM_CONFIG")))
    supported: bool | None = final.eep_off if eep_off else driver.record.eep_off_supported
    driver.record.eep_off_supported = supported
    if driver.store is not None:
        driver.store.save()
    if eep_off and not final.eep_off:
        eeprom = (
            "firmware does not support EEP_OFF (older than ~02/2024): every setpoint "
            "write wears the EEPROM; the gateway allows one EEPROM write per "
            f"{driver.wear_policy.min_interval_s:.1f} s for the whole unit"
        )
    elif final.eep_off:
        eeprom = "EEP_OFF active: setpoint writes no longer wear the EEPROM"
    else:
        eeprom = "EEP_OFF not requested: setpoint writes wear the EEPROM (rate-limited)"
    return EepOffOutcome(final, supported, eeprom)
