"""Helpers for the BIC integration tests: a private udp_multicast bus per test, the simulator
and the gateway as subprocesses against the test broker, JSON waits on a probe, and a simulated
unit served in-process on a python-can virtual channel."""

from __future__ import annotations

import itertools
import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import can

from services.sim.bic import frames
from services.sim.bic.bus_loop import SimBusLoop
from services.sim.bic.device import SimulatedBic

_groups = itertools.count(1)


def private_bus() -> dict[str, str]:
    """Settings env for a udp_multicast bus no other test shares (own group and port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    group = f"239.74.{os.getpid() % 200 + 20}.{next(_groups) % 250 + 1}"
    return {
        "CANBRIDGE_CAN__INTERFACE": "udp_multicast",
        "CANBRIDGE_CAN__CHANNEL": group,
        "CANBRIDGE_CAN__PORT": str(port),
    }


def sim_env(bus: dict[str, str], tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **bus,
        "CANBRIDGE_HEALTH_FILE": str(tmp / "sim-health"),
        "CANBRIDGE_DEAD_TIME_S": "0.1",
        "CANBRIDGE_TIME_CONSTANT_S": "0.2",
        "CANBRIDGE_PUBLISH_INTERVAL_S": "0.3",
        **extra,
    }


def gateway_env(bus: dict[str, str], tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **bus,
        "CANBRIDGE_HEALTH_FILE": str(tmp / "gw-health"),
        "CANBRIDGE_STATE_FILE": str(tmp / "state" / "bic-gateway-state.json"),
        "CANBRIDGE_TIMING__POLL_INTERVAL_S": "0.3",
        "CANBRIDGE_TIMING__SLOW_POLL_INTERVAL_S": "2",
        "CANBRIDGE_WATCHDOG__TIMEOUT_S": "600",
        **extra,
    }


def start_stack(service, bus, tmp: Path, sim: dict | None = None, gateway: dict | None = None):
    sim_proc = service(["-m", "services.sim.bic"], "sim", sim_env(bus, tmp, **(sim or {})))
    gw_proc = service(
        ["-m", "services.bic_gateway"], "bic-gateway", gateway_env(bus, tmp, **(gateway or {}))
    )
    return sim_proc, gw_proc


def payload(msg) -> dict:
    return json.loads(msg.payload)


def json_where(**expected):
    """A `where` for Probe.wait_for: the JSON payload has these key/values."""

    def match(msg) -> bool:
        try:
            data = json.loads(msg.payload)
        except ValueError:
            return False
        return isinstance(data, dict) and all(data.get(k) == v for k, v in expected.items())

    return match


@contextmanager
def unit_on_virtual_bus(
    model: str = "BIC-2200-48", **create
) -> Iterator[tuple[SimulatedBic, SimBusLoop, str]]:
    """A simulated unit at address 0 answering on a fresh virtual channel: (unit, loop, channel).
    Touch the unit's registers under ``loop.lock``. ``create``: ``SimulatedBic.create`` options."""
    channel = f"bic-test-{uuid.uuid4().hex}"
    unit = SimulatedBic.create(0, model, **create)
    accept = {"can_id": unit.family.request_base, "can_mask": frames.ADDRESS_MASK}
    sim_bus = can.Bus(
        interface="virtual", channel=channel, can_filters=[{**accept, "extended": True}]
    )
    loop = SimBusLoop(sim_bus, [unit]).start()
    try:
        yield unit, loop, channel
    finally:
        loop.stop()
        sim_bus.shutdown()
