"""The command set users know from the earlier command-line tools, as data.

The same table serves the MQTT request/response topic (``<base>/bic/<unit>/set/cmd``, executed
by the gateway) and the CLI's ``--can`` mode (executed locally); ``can_up``/``can_down`` are
local-only (see ``can_link``). Values are volts and amps.

Every write takes the unit's one write path (``UnitDriver.write``): the same model range, battery
window and current limits as the controller's setpoints, the same wear governor (a write held
back by the interval is answered ``defer`` and applied when it ends, unless superseded).
Commands marked ``needs_confirm`` (provisioning) run only with an explicit confirmation
(``{"confirm": true}`` on MQTT, ``--confirm`` on the CLI), whatever the path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .codec import Response, ScalingFactors
from .flags import (
    decode_bidirectional_config,
    decode_fault_status,
    decode_system_status,
    system_config_flags,
)
from .npb_flags import curve_config_flags, decode_charge_status
from .registers import KNOWN_REGISTERS
from .unit import NotInFamily, UnitDriver


class CommandFailed(Exception):
    """A command that could not be carried out; the message says why."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    register: str | None = None
    fixed_value: int | None = None  # on/off/charge/discharge
    takes_value: bool = False
    unit: str = ""
    needs_confirm: bool = False  # rewrites the unit's configuration (EEPROM)


# fmt: off
COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("on", "output on (OPERATION = 1)", "OPERATION", fixed_value=1),
    Command("off", "output off (OPERATION = 0)", "OPERATION", fixed_value=0),
    Command("cvread", "read charge voltage VOUT_SET", "VOUT_SET", unit="V"),
    Command("cvset", "set charge voltage VOUT_SET", "VOUT_SET", takes_value=True, unit="V"),
    Command("ccread", "read charge current IOUT_SET", "IOUT_SET", unit="A"),
    Command("ccset", "set charge current IOUT_SET", "IOUT_SET", takes_value=True, unit="A"),
    Command("dvread", "read discharge voltage REVERSE_VOUT_SET", "REVERSE_VOUT_SET", unit="V"),
    Command("dvset", "set discharge voltage REVERSE_VOUT_SET", "REVERSE_VOUT_SET",
            takes_value=True, unit="V"),
    Command("dcread", "read discharge current REVERSE_IOUT_SET", "REVERSE_IOUT_SET", unit="A"),
    Command("dcset", "set discharge current REVERSE_IOUT_SET (positive A)", "REVERSE_IOUT_SET",
            takes_value=True, unit="A"),
    Command("vread", "read DC (battery) voltage READ_VOUT", "READ_VOUT", unit="V"),
    Command("cread", "read DC current READ_IOUT (< 0 discharging)", "READ_IOUT", unit="A"),
    Command("acvread", "read AC grid voltage READ_VIN", "READ_VIN", unit="V"),
    Command("charge", "direction charge (DIRECTION_CTRL = 0)", "DIRECTION_CTRL", fixed_value=0),
    Command("discharge", "direction discharge (DIRECTION_CTRL = 1)", "DIRECTION_CTRL",
            fixed_value=1),
    Command("dirread", "read direction DIRECTION_CTRL", "DIRECTION_CTRL"),
    Command("tempread", "read internal temperature", "READ_TEMPERATURE_1", unit="°C"),
    Command("fanread", "read fan speeds"),
    Command("typeread", "read model, firmware, date, serial"),
    Command("statusread", "read SYSTEM_STATUS, SYSTEM_CONFIG, BIDIRECTIONAL_CONFIG (NPB: "
            "CURVE_CONFIG, CHG_STATUS)"),
    Command("faultread", "read FAULT_STATUS"),
    Command("dump", "read every readable register"),
    Command("init_mode", "provision: CAN control, battery mode, EEP_OFF, safe boot defaults "
            "(NPB: power-supply mode, EEP_OFF, safe boot values; needs confirmation)",
            needs_confirm=True),
    Command("can_up", "bring the socketcan link up at 250 kbit/s (local, needs root)"),
    Command("can_down", "take the socketcan link down (local, needs root)"),
)}
# fmt: on

LOCAL_ONLY = ("can_up", "can_down")
CHOICE_NAMES = {"OPERATION": {0: "off", 1: "on"}, "DIRECTION_CTRL": {0: "charge", 1: "discharge"}}


def _describe(name: str, value: Any) -> Any:
    return CHOICE_NAMES.get(name, {}).get(value, value)


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex(" ")
    if isinstance(value, ScalingFactors):
        return {name: None if f is None else str(f) for name, f in vars(value).items()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _dump(driver: UnitDriver) -> dict[str, Any]:
    out: dict[str, Any] = {}
    family = driver.family
    for register in KNOWN_REGISTERS:
        if family is not None and not family.has(register.name):
            continue  # e.g. DIRECTION_CTRL on an NPB, CURVE_CC on a BIC
        try:
            response: Response = driver.read_response(register)
        except TimeoutError:
            out[register.name] = None
            continue
        out[register.name] = _jsonable(_describe(register.name, response.value))
    return out


def run_command(
    driver: UnitDriver,
    name: str,
    value: float | None = None,
    *,
    provision: Callable[[UnitDriver], dict[str, Any]] | None = None,
    confirm: bool = False,
    source: str = "cli",
) -> dict[str, Any]:
    """Execute one command on one unit; returns a JSON-able result or raises CommandFailed."""
    command = COMMANDS.get(name)
    if command is None:
        raise CommandFailed(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    if name in LOCAL_ONLY:
        raise CommandFailed(f"{name} runs on the gateway's host, not over MQTT")
    if command.takes_value and value is None:
        raise CommandFailed(f"{name} needs a value in {command.unit}")
    if command.needs_confirm and not confirm:
        raise CommandFailed(
            f"{name} rewrites the unit's configuration and EEPROM: it needs an explicit "
            'confirmation ({"confirm": true} on MQTT, --confirm on the CLI)'
        )
    try:
        return _run(driver, command, value, provision, source)
    except (TimeoutError, NotInFamily) as exc:
        raise CommandFailed(str(exc)) from None


def _run(driver, command: Command, value, provision, source: str) -> dict[str, Any]:
    name = command.name
    if command.register and (command.takes_value or command.fixed_value is not None):
        target = command.fixed_value if command.fixed_value is not None else value
        result = driver.write(command.register, target, source=source)
        if result.failed:
            raise CommandFailed(result.why)
        payload = result.to_json()  # action "defer": held, applied when the interval ends
        payload["unit"] = command.unit
        return payload
    if command.register:
        read = driver.read(command.register)
        return {
            "register": command.register,
            "value": _describe(command.register, read),
            "unit": command.unit,
        }
    if name == "fanread":
        return {
            "fan1": driver.read("READ_FAN_SPEED_1"),
            "fan2": driver.read("READ_FAN_SPEED_2"),
            "unit": "rpm",
        }
    if name == "typeread":
        info = driver.identify()
        return info.to_json()
    if name == "statusread":
        status = int(driver.read("SYSTEM_STATUS"))
        config = int(driver.read("SYSTEM_CONFIG"))
        out: dict[str, Any] = {
            "system_status": decode_system_status(status),
            "system_status_raw": status,
            "system_config": system_config_flags(config),
            "system_config_raw": config,
        }
        if driver.bidirectional:
            bidir = int(driver.read("BIDIRECTIONAL_CONFIG"))
            out["battery_mode"] = decode_bidirectional_config(bidir).battery_mode
        else:  # NPB: its curve word (power-supply or charger mode) and charger status
            curve, charge = int(driver.read("CURVE_CONFIG")), int(driver.read("CHG_STATUS"))
            out.update(
                curve_config=curve_config_flags(curve),
                curve_config_raw=curve,
                charge_status=decode_charge_status(charge),
                charge_status_raw=charge,
            )
        out["controllable"] = driver.controllable
        return out
    if name == "faultread":
        raw = int(driver.read("FAULT_STATUS"))
        return {"fault_status": decode_fault_status(raw), "raw": raw}
    if name == "dump":
        return _dump(driver)
    if name == "init_mode":
        if provision is None:
            raise CommandFailed("provisioning is not available here")
        try:
            return provision(driver)
        except (RuntimeError, ValueError) as exc:
            raise CommandFailed(str(exc)) from None
    raise CommandFailed(f"{name} is not implemented")  # pragma: no cover
