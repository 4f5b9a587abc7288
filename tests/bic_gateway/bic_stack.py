"""Helpers for the BIC integration tests: a private udp_multicast bus per test, the simulator
and the gateway as subprocesses against the test broker, JSON waits on a probe, and a simulated
unit served in-process on a python-can virtual channel (also with the gateway in-process)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import can
from can.interfaces.virtual import VirtualBus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS
from services.bic_gateway.gateway import Gateway
from services.bic_gateway.ledger_store import StateStore
from services.bic_gateway.pacing import Pacer
from services.bic_gateway.settings import BicGatewaySettings
from services.bic_gateway.transport import CanTransport
from services.sim.bic import frames
from services.sim.bic.bus_loop import SimBusLoop
from services.sim.bic.device import SimulatedBic
from services.sim.bic.timing import TimingRules

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


SIM_BASE = "canbridge/sim/bic"


def sim_violations(probe, unit: int = 0) -> dict:
    """The simulator's violation summary, fresh: asks for a report and waits for its echo."""
    nonce = uuid.uuid4().hex
    probe.publish(f"{SIM_BASE}/{unit}/set/report", nonce)
    state = probe.wait_for(
        f"{SIM_BASE}/{unit}/state", where=lambda m: json.loads(m.payload).get("report") == nonce
    )
    return payload(state)["violations"]


def unexpected_violations(summary: dict, allow: Iterable[str] = ()) -> dict[str, int]:
    allowed = set(allow)
    return {kind: n for kind, n in summary["by_kind"].items() if kind not in allowed}


def assert_no_violations(probe, unit: int = 0, allow: Iterable[str] = ()) -> None:
    """The gateway broke none of the manual's rules the simulator checks (timing, SVR mode,
    ranges, read-only and unknown registers), except the ``allow``ed kinds."""
    summary = sim_violations(probe, unit)
    unexpected = unexpected_violations(summary, allow)
    assert not unexpected, f"protocol violations {unexpected}; recent: {summary['recent']}"


@contextmanager
def unit_on_virtual_bus(
    model: str = "BIC-2200-48",
    allow_violations: Iterable[str] = (),
    timing: TimingRules | None = None,
    **create,
) -> Iterator[tuple[SimulatedBic, SimBusLoop, str]]:
    """A simulated unit at address 0 answering on a fresh virtual channel: (unit, loop, channel).
    Touch the unit's registers under ``loop.lock``. ``create``: ``SimulatedBic.create`` options;
    ``timing``: the simulator's bus-timing rules (default: the manual's, 1 ms tolerance).
    On a clean exit, fails if the unit saw protocol violations other than ``allow_violations``."""
    channel = f"bic-test-{uuid.uuid4().hex}"
    unit = SimulatedBic.create(0, model, **create)
    accept = {"can_id": unit.family.request_base, "can_mask": frames.ADDRESS_MASK}
    sim_bus = can.Bus(
        interface="virtual", channel=channel, can_filters=[{**accept, "extended": True}]
    )
    loop = SimBusLoop(sim_bus, [unit], timing=timing).start()
    try:
        yield unit, loop, channel
    finally:
        loop.stop()
        sim_bus.shutdown()
    unexpected = unexpected_violations(unit.violations.summary(), allow_violations)
    assert not unexpected, f"protocol violations {unexpected}: {unit.violations.summary()}"


@contextmanager
def gateway_on_virtual_bus(
    tmp: Path, client, wear: dict | None = None, **create
) -> Iterator[tuple[Gateway, CanTransport]]:
    """The gateway in-process (its MQTT side ``client``, a recording stand-in) with a simulated
    unit (``create``: ``SimulatedBic.create`` options) on a virtual channel, started and polling:
    (gateway, its transport). ``wear``: the gateway's ``wear`` settings."""
    settings = BicGatewaySettings(
        units=[0],
        state_file=tmp / "state.json",
        timing={"poll_interval_s": 0.2, "slow_poll_interval_s": 1},
        watchdog={"timeout_s": 600},
        wear=wear or {},
    )
    with unit_on_virtual_bus(**create) as (_unit, _loop, channel):
        bus = VirtualBus(channel=channel, can_filters=[id_filter(BIC_IDS.response_base)])
        transport = CanTransport(bus, Pacer(), timeout_s=0.1, retries=1)
        gw = Gateway(settings, client, transport, StateStore(settings.state_file).load())
        gw.start()
        client.wait_for("canbridge/bic/0/state")
        yield gw, transport
        gw.stop()
