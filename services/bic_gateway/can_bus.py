"""Opening the CAN bus named by the configuration (python-can), nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import can
from can.typechecking import CanFilter

from .settings import CanSettings

# Mask that keeps the family base and drops the 8 address bits
# (docs/protocol-bic2200.md#identifiers-and-addresses).
ADDRESS_MASK = 0x1FFFFF00


def bus_kwargs(settings: CanSettings) -> dict[str, Any]:
    """Keyword arguments for ``can.Bus`` (without filters)."""
    kwargs: dict[str, Any] = {
        "interface": settings.interface,
        "channel": settings.resolved_channel(),
    }
    if settings.interface == "slcan":
        kwargs["bitrate"] = settings.bitrate
    if settings.interface == "udp_multicast":
        kwargs["port"] = settings.port
    if settings.interface == "virtual":
        kwargs["receive_own_messages"] = False
    kwargs.update(settings.options)
    return kwargs


def id_filter(base: int) -> CanFilter:
    """A python-can filter passing the 29-bit ids ``base + 0..255`` (kernel-side on socketcan)."""
    return {"can_id": base, "can_mask": ADDRESS_MASK, "extended": True}


def open_bus(settings: CanSettings, accept_base: int | Iterable[int] | None = None) -> can.BusABC:
    """The bus; with ``accept_base`` (one base or several) only frames of those id families are
    received (the gateway: BIC and NPB responses).

    udp_multicast loops a process's own frames back to it: the filter is what keeps a gateway
    from reading its own requests (and the simulator its own answers).
    """
    bases = [accept_base] if isinstance(accept_base, int) else accept_base
    filters = [id_filter(base) for base in bases] if bases is not None else None
    return can.Bus(**bus_kwargs(settings), can_filters=filters)
