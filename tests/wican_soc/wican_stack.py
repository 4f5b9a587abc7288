"""Helpers for the WiCAN integration tests: the simulator, wican-status and wican-soc
as subprocesses against the test broker, with one vehicle `leaf` on the simulator."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from harness import Probe, Received, ServiceProcess

DEVICE = "d0d0cafe0001"
VEHICLE = "leaf"
PROFILE = "nissan-leaf-ze1"
STATUS = f"wican/{DEVICE}/status"
RX = f"wican/{DEVICE}/can/rx"
TX = f"wican/{DEVICE}/can/tx"
SET = f"sim/wican/{DEVICE}/set"
SOC_TOPIC = "car/soc"


def vehicles_env(**overrides) -> dict[str, str]:
    vehicle = {
        "name": VEHICLE,
        "device_id": DEVICE,
        "profile": PROFILE,
        "poll_interval_s": 1,
        **overrides,
    }
    return {"CANBRIDGE_VEHICLES": json.dumps([vehicle])}


@dataclass
class Stack:
    sim: ServiceProcess
    status: ServiceProcess
    soc: ServiceProcess
    procs: list = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(p.log() for p in (self.sim, self.status, self.soc))


def start_stack(service, tmp_path, sim_env=None, vehicle=None, status_env=None) -> Stack:
    common = {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1"}
    env = {**common, **vehicles_env(**(vehicle or {}))}
    soc = service(
        ["-m", "services.wican_soc"],
        "wican-soc",
        {**env, "CANBRIDGE_HEALTH_FILE": str(tmp_path / "soc.hb")},
    )
    status = service(
        ["-m", "services.wican_status"],
        "wican-status",
        {
            **env,
            "CANBRIDGE_HEALTH_FILE": str(tmp_path / "status.hb"),
            "CANBRIDGE_ANSWER_TIMEOUT_S": "0.5",
            "CANBRIDGE_RETRY_INITIAL_S": "0.2",
            "CANBRIDGE_RETRY_MAX_S": "1",
            "CANBRIDGE_MIN_GAP_S": "0.1",
            **(status_env or {}),
        },
    )
    sim = service(
        ["-m", "services.sim.wican"],
        "wican",
        {
            **common,
            "CANBRIDGE_DEVICE_ID": DEVICE,
            "CANBRIDGE_PROFILE": PROFILE,
            "CANBRIDGE_HEALTH_FILE": str(tmp_path / "sim.hb"),
            **(sim_env or {}),
        },
    )
    return Stack(sim, status, soc)


def soc_of(message: Received) -> float:
    return json.loads(message.payload)["soc"]


def near(value: float, target: float, tolerance: float = 0.01) -> bool:
    return abs(value - target) <= tolerance


def wait_soc(watcher: Probe, target: float, live: bool = True, timeout: float = 20.0) -> Received:
    """The first car/soc message with this SoC (live: sent now, not replayed retained)."""
    return watcher.wait_for(
        SOC_TOPIC,
        where=lambda m: near(soc_of(m), target) and (not live or not m.retain),
        timeout=timeout,
    )
