"""Every public canbridge topic, built in one place (topic API v2, README.md "Topics").

``<base>`` is the configured ``base_topic``; a topic is always built by a function here, never
by hand in a service, so the services, the api, the HA discovery and the README table agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- every service: <base>/<service>/... ---------------------------------------------------------


def service_topic(base: str, service: str, leaf: str) -> str:
    """``<base>/<service>/<leaf>``; ``service`` may be ``+`` for a filter over all services."""
    return f"{base}/{service}/{leaf}"


def status_topic(base: str, service: str) -> str:
    """The service's retained ``online``/``offline`` (also its last will)."""
    return service_topic(base, service, "status")


def heartbeat_topic(base: str, service: str) -> str:
    return service_topic(base, service, "heartbeat")


def config_topic(base: str, service: str) -> str:
    """The service's effective settings (retained, secrets as ``***``)."""
    return service_topic(base, service, "config")


# --- the charge controller: <base>/charge-controller/... -----------------------------------------

CONTROLLER = "charge-controller"


def controller_topic(base: str, leaf: str) -> str:
    """``state``, ``command_result``, ``status``, ... of the charge controller."""
    return service_topic(base, CONTROLLER, leaf)


def controller_set(base: str, key: str) -> str:
    """A runtime parameter: ``<base>/charge-controller/set/<key>`` (``#`` for all of them)."""
    return controller_topic(base, f"set/{key}")


def controller_switch(base: str, name: str) -> str:
    """A surplus load's retained ``ON``/``OFF``."""
    return controller_topic(base, f"switch/{name}")


# --- BIC-2200 / NPB units: <base>/bic/<unit>/... -------------------------------------------------

#: command topics under <base>/bic/<unit>/set/<name>
SET_POWER = "power"  # signed W (+ charge, - discharge), refreshes the watchdog
SET_CURRENT = "current"  # signed A
SET_CHARGE = "charge"  # legacy {"var": "chargeA"|"chargeP", "val": n}
SET_STATE = "state"  # legacy 0/1 -> OPERATION off/on
SET_CMD = "cmd"  # CLI request/response {"id", "cmd", "value"}
SET_PROVISION = "provision"  # {"confirm": true}
SET_NAMES = (SET_POWER, SET_CURRENT, SET_CHARGE, SET_STATE, SET_CMD, SET_PROVISION)


def unit_root(base: str, unit: int | str) -> str:
    """``<base>/bic/<unit>``; ``unit`` may be ``+`` (a filter) or ``{unit}`` (a template)."""
    return f"{base}/bic/{unit}"


def unit_filter(base: str, leaf: str) -> str:
    """``<base>/bic/+/<leaf>``: one topic of every unit."""
    return f"{unit_root(base, '+')}/{leaf}"


def unit_template(leaf: str) -> str:
    """``{base}/bic/{unit}/<leaf>``, for settings that name a unit topic as a template."""
    return f"{unit_root('{base}', '{unit}')}/{leaf}"


class _Leaf:
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
        return unit_root(self.base, self.unit)

    # the unit's documented topics, named one by one: a typo is an AttributeError, not a new
    # topic nobody reads; plain per-value topics are `value(name)`
    info = _Leaf()
    state = _Leaf()
    fault = _Leaf()
    availability = _Leaf()
    setpoint = _Leaf()
    error = _Leaf()
    reply = _Leaf()
    wear = _Leaf()
    operation = _Leaf()

    def value(self, suffix: str) -> str:
        """A plain retained value of the unit (``voltage``, ``energy_charged``, ...)."""
        return f"{self.root}/{suffix}"

    def set(self, name: str) -> str:
        return f"{self.root}/set/{name}"


def set_filter(base: str) -> str:
    return unit_filter(base, "set/+")


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


# --- vehicles: <base>/vehicle/<name>/... and car/soc ---------------------------------------------

#: a vehicle's default ``soc_topic`` (its JSON with the SoC and time)
CAR_SOC = "car/soc"


def vehicle_topic(base: str, vehicle: str, leaf: str) -> str:
    """`<base>/vehicle/<name>/<leaf>`, e.g. canbridge/vehicle/leaf/soc."""
    return f"{base}/vehicle/{vehicle}/{leaf}"


def vehicle_state_filter(base: str) -> str:
    return vehicle_topic(base, "+", "state")


def vehicle_of_state(topic: str) -> str | None:
    """Vehicle name of a `<base>/vehicle/<name>/state` topic."""
    parts = topic.split("/")
    if len(parts) >= 4 and parts[-1] == "state" and parts[-3] == "vehicle":
        return parts[-2]
    return None


# --- WiCAN adapters: wican/<id>/... --------------------------------------------------------------

WICAN_ROOT = "wican"

#: both status layouts: the documented one and the firmware-2024 default
STATUS_FILTERS = (f"{WICAN_ROOT}/+/status", f"{WICAN_ROOT}/+/can/status")
RX_FILTER = f"{WICAN_ROOT}/+/can/rx"


def tx_topic(device_id: str) -> str:
    return f"{WICAN_ROOT}/{device_id}/can/tx"


def rx_topic(device_id: str) -> str:
    return f"{WICAN_ROOT}/{device_id}/can/rx"


def wican_status_topic(device_id: str, firmware_2024: bool = False) -> str:
    return (
        f"{WICAN_ROOT}/{device_id}/can/status"
        if firmware_2024
        else f"{WICAN_ROOT}/{device_id}/status"
    )


def device_of(topic: str) -> str | None:
    """Device id of a `wican/<id>/...` topic."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == WICAN_ROOT:
        return parts[1]
    return None


# --- Home Assistant ------------------------------------------------------------------------------

HA_PREFIX = "homeassistant"


def ha_status_topic(prefix: str = HA_PREFIX) -> str:
    """HA's birth/will message: ``online`` after HA (re)started."""
    return f"{prefix}/status"


def ha_device_topic(node_id: str, prefix: str = HA_PREFIX) -> str:
    """Device discovery of one canbridge device."""
    return f"{prefix}/device/{node_id}/config"
