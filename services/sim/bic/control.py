"""Commands on the simulator's control topic ``<base>/sim/bic/<unit>/set/<command>`` (pure)."""

from __future__ import annotations

from .device import SimulatedBic
from .faults import Fault

ON = ("1", "true", "on")
OFF = ("0", "false", "off")


class ControlError(ValueError):
    """A command the simulator refuses, with the reason."""


def _flag(text: str, command: str) -> bool:
    if text.lower() in ON:
        return True
    if text.lower() in OFF:
        return False
    raise ControlError(f"{command}: payload must be 1/0, true/false or on/off, not {text!r}")


def apply_command(unit: SimulatedBic, command: str, text: str) -> str:
    """Apply one command; a short description of what changed. Caller holds the bus lock."""
    if command == "mute":
        unit.muted = _flag(text, command)
        return f"muted={unit.muted}"
    if command == "power_cycle":
        unit.power_cycle()
        return "re-powered"
    if command == "soc":
        try:
            soc = float(text)
        except ValueError:
            raise ControlError(f"soc: {text!r} is not a number (0..1)") from None
        if not 0.0 <= soc <= 1.0:
            raise ControlError(f"soc: {soc} is outside 0..1")
        unit.plant.soc = soc
        return f"soc={soc}"
    if command.startswith("fault/"):
        name = command.removeprefix("fault/")
        try:
            fault = Fault(name)
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise ControlError(f"unknown fault {name!r}; one of {known}") from None
        unit.set_fault(fault, _flag(text, command))
        return f"faults={sorted(f.value for f in unit.faults.active)}"
    if command == "reset_violations":
        unit.violations.clear()
        return "violations cleared"
    if command == "report":
        return "state published"
    raise ControlError(
        f"unknown command {command!r}: mute, power_cycle, soc, fault/<name>, "
        "reset_violations, report"
    )
