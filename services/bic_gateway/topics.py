"""The gateway's MQTT topics (topic API v2; the table is in docs/bic2200.md).

``<base>/bic/<unit>/...`` with ``<unit>`` the CAN address 0..63.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: command topics under <base>/bic/<unit>/set/<name>
SET_POWER = "power"  # signed W (+ charge, - discharge), refreshes the watchdog
SET_CURRENT = "current"  # signed A
SET_CHARGE = "charge"  # legacy {"var": "chargeA"|"chargeP", "val": n}
SET_STATE = "state"  # legacy 0/1 -> OPERATION off/on
SET_CMD = "cmd"  # CLI request/response {"id", "cmd", "value"}
SET_PROVISION = "provision"  # {"confirm": true}
SET_NAMES = (SET_POWER, SET_CURRENT, SET_CHARGE, SET_STATE, SET_CMD, SET_PROVISION)


class _Sub:
    """A unit topic named after the attribute that holds it: ``<root>/<attribute>``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: UnitTopics, owner: type | None = None) -> str:
        return f"{obj.root}/{self.name}"


@dataclass(frozen=True)
class UnitTopics:
    base: str
    unit: int

    @property
    def root(self) -> str:
        return f"{self.base}/bic/{self.unit}"

    # the unit's documented topics (docs/bic2200.md), named one by one: a typo is an
    # AttributeError, not a new topic nobody reads; plain per-value topics are `value(name)`
    info = _Sub()
    state = _Sub()
    fault = _Sub()
    availability = _Sub()
    setpoint = _Sub()
    error = _Sub()
    reply = _Sub()
    wear = _Sub()
    operation = _Sub()

    def value(self, suffix: str) -> str:
        """A plain retained value of the unit (``voltage``, ``energy_charged``, ...)."""
        return f"{self.root}/{suffix}"

    def set(self, name: str) -> str:
        return f"{self.root}/set/{name}"


def set_filter(base: str) -> str:
    return f"{base}/bic/+/set/+"


def parse_set_topic(base: str, topic: str) -> tuple[int, str] | None:
    """(unit, command name) of a command topic, None if it is not one."""
    parts = topic.split("/")
    prefix = base.split("/")
    if parts[: len(prefix)] != prefix:
        return None
    rest = parts[len(prefix) :]
    if len(rest) != 4 or rest[0] != "bic" or rest[2] != "set" or not _ADDRESS.fullmatch(rest[1]):
        return None
    return int(rest[1]), rest[3]


#: a unit address as ASCII digits: str.isdigit() also takes "²" (int() then fails) and "٣"
#: (which int() reads as 3), and a 5,000-digit level is beyond int()'s digit limit
_ADDRESS = re.compile(r"[0-9]{1,3}")
