"""Home Assistant device discovery for the charge controller (pure payload builder).

One HA device: an enable switch, a mode select and a grid target number, all driven through
the controller's runtime command topics (`<base>/charge-controller/set/<key path>`) and read
back from its retained `state` JSON; plus read-only sensors for grid, battery and setpoint
power. Availability: the controller's status.
"""

from __future__ import annotations

from typing import Any

from services.charge_controller.control_law import ControlParams
from services.charge_controller.controller_config import MODES
from shared import ha_discovery as ha
from shared.contract.topics import CONTROLLER, controller_set, controller_topic, status_topic

SERVICE = CONTROLLER

#: state JSON key -> entity name of the read-only power sensors
POWER_SENSORS = {
    "grid_w": "Grid power",
    "battery_w": "Battery power",
    "setpoint_w": "Setpoint",
}


def node_id(base: str) -> str:
    return f"{ha.slug(base)}_controller"


def unique_id(base: str, value: str) -> str:
    return f"{ha.slug(base)}_controller_main_{value}"


def target_range() -> tuple[float, float]:
    """The grid target's bounds, as the controller validates them."""
    lo = hi = None
    for rule in ControlParams.model_fields["target_w"].metadata:
        lo = getattr(rule, "ge", lo)
        hi = getattr(rule, "le", hi)
    return float(lo if lo is not None else -5000), float(hi if hi is not None else 5000)


def controller_device(base: str) -> dict[str, Any]:
    state = controller_topic(base, "state")
    low, high = target_range()
    components: dict[str, dict[str, Any]] = {
        "enabled": ha.switch(
            unique_id(base, "enabled"),
            "Enabled",
            state,
            controller_set(base, "enabled"),
            value_template="{{ 'ON' if value_json.enabled else 'OFF' }}",
        ),
        "mode": ha.select(
            unique_id(base, "mode"),
            "Mode",
            state,
            controller_set(base, "mode"),
            list(MODES),
            value_template="{{ value_json.mode }}",
        ),
        "target_w": ha.number(
            unique_id(base, "target_w"),
            "Grid target",
            state,
            controller_set(base, "control/target_w"),
            minimum=low,
            maximum=high,
            step=1,
            unit="W",
            device_class="power",
            value_template="{{ value_json.target_w }}",
        ),
    }
    for key, name in POWER_SENSORS.items():
        components[key] = ha.sensor(
            unique_id(base, key),
            name,
            state,
            device_class="power",
            unit="W",
            precision=0,
            value_template=f"{{{{ value_json.{key} }}}}",
        )
    device = {
        "identifiers": [node_id(base)],
        "name": "canbridge charge controller",
        "manufacturer": "canbridge",
        "model": "charge-controller",
    }
    avail = ha.availability((status_topic(base, SERVICE), None))
    return ha.device_config(device, components, avail, mode="all")


def announce(publisher: ha.DiscoveryPublisher, base: str) -> ha.DiscoveryPublisher:
    publisher.register(node_id(base), lambda: controller_device(base))
    return publisher
