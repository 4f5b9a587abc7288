"""MQTT topics of the WiCAN adapters and of the vehicle values canbridge publishes."""

from __future__ import annotations

WICAN_ROOT = "wican"

#: both status layouts: the documented one and the firmware-2024 default
STATUS_FILTERS = (f"{WICAN_ROOT}/+/status", f"{WICAN_ROOT}/+/can/status")
RX_FILTER = f"{WICAN_ROOT}/+/can/rx"


def tx_topic(device_id: str) -> str:
    return f"{WICAN_ROOT}/{device_id}/can/tx"


def rx_topic(device_id: str) -> str:
    return f"{WICAN_ROOT}/{device_id}/can/rx"


def status_topic(device_id: str, firmware_2024: bool = False) -> str:
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


def vehicle_topic(base: str, vehicle: str, leaf: str) -> str:
    """`<base>/vehicle/<name>/<leaf>`, e.g. canbridge/vehicle/leaf/soc."""
    return f"{base}/vehicle/{vehicle}/{leaf}"


def vehicle_state_filter(base: str) -> str:
    return f"{base}/vehicle/+/state"


def vehicle_of_state(topic: str) -> str | None:
    """Vehicle name of a `<base>/vehicle/<name>/state` topic."""
    parts = topic.split("/")
    if len(parts) >= 4 and parts[-1] == "state" and parts[-3] == "vehicle":
        return parts[-2]
    return None
