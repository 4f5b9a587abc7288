"""`python -m services.devstack` (`make demo`): broker + services + simulators, locally.

The broker runs the project's mosquitto.conf and ACL with generated passwords
kept in `.demo/broker/` (so MQTT Explorer logins stay valid between runs).
Every service and simulator whose module exists is started as its own process
with its own MQTT user, the same as in compose. Ctrl-C stops them all; a
process that dies takes the demo down with a message naming it.

Configuration: config/sim.yaml (CANBRIDGE_CONFIG overrides it).
Environment: CANBRIDGE_DEMO_MQTT_PORT (default 1883), CANBRIDGE_DEMO_API_PORT (8080),
CANBRIDGE_DEMO_DIR (.demo).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from services.broker_setup.broker_files import PROJECT_DIR
from services.broker_setup.local_broker import LocalBroker
from shared.cli_help import parse_command_line


@dataclass(frozen=True)
class Component:
    module: str
    user: str
    env: dict[str, str] = field(default_factory=dict)


#: the simulator setup (config/canbridge.yaml, the plain stack's, configures no car or battery)
SIM_CONFIG = PROJECT_DIR / "config" / "sim.yaml"

#: what `make demo` runs, in start order; later issues add their services here
COMPONENTS = [
    Component("services.api", "api"),
    Component("services.sim.wican", "wican"),
    Component("services.sim.bic", "sim", {"CANBRIDGE_CAN__INTERFACE": "udp_multicast"}),
    Component("services.sim.meter", "sim-meter"),
    Component("services.wican_status", "wican-status"),
    Component("services.wican_soc", "wican-soc"),
    Component(
        "services.bic_gateway",
        "bic-gateway",
        {
            "CANBRIDGE_CAN__INTERFACE": "udp_multicast",
            "CANBRIDGE_CAN__CHANNEL": "239.74.163.2",  # the simulator's default group
            "CANBRIDGE_STATE_FILE": ".demo/bic-gateway-state.json",
        },
    ),
    Component("services.charge_controller", "charge-controller"),
]


def runnable(module: str) -> bool:
    """True if `python -m module` would find something to run (a module or a package)."""
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(module + ".__main__")
    except ModuleNotFoundError:
        return False
    return spec is not None


def available(components: list[Component]) -> list[Component]:
    """Components that exist in this checkout."""
    return [c for c in components if runnable(c.module)]


def main() -> int:
    parse_command_line("python -m services.devstack", __doc__)
    demo_dir = Path(os.environ.get("CANBRIDGE_DEMO_DIR", PROJECT_DIR / ".demo"))
    mqtt_port = int(os.environ.get("CANBRIDGE_DEMO_MQTT_PORT", "1883"))
    api_port = os.environ.get("CANBRIDGE_DEMO_API_PORT", "8080")
    broker = LocalBroker(root=demo_dir / "broker", port=mqtt_port).start()
    print(f"demo: broker on 127.0.0.1:{broker.port} (project config, log {broker.log_path})")
    print(f"demo: admin password {broker.passwords['admin']}  (user admin)")
    procs: list[tuple[Component, subprocess.Popen]] = []
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for comp in available(COMPONENTS):
            env = {
                **os.environ,
                **broker.env_for(comp.user),
                "CANBRIDGE_HTTP_PORT": api_port,
                "PYTHONPATH": str(PROJECT_DIR),
                # the dashboard's history: kept with the demo's other files
                "CANBRIDGE_HISTORY__FILE": str(demo_dir / "history.sqlite"),
                **comp.env,
            }
            env.setdefault("CANBRIDGE_CONFIG", str(SIM_CONFIG))
            procs.append(
                (
                    comp,
                    subprocess.Popen([sys.executable, "-m", comp.module], env=env, cwd=PROJECT_DIR),
                )
            )
            print(f"demo: started {comp.module} as MQTT user {comp.user}")
        print(
            f"demo: dashboard at http://127.0.0.1:{api_port}/, "
            f"health at http://127.0.0.1:{api_port}/health  (Ctrl-C stops everything)"
        )
        while not stop.wait(0.5):
            dead = [(c, p.returncode) for c, p in procs if p.poll() is not None]
            if dead:
                for comp, rc in dead:
                    print(f"demo: {comp.module} exited with {rc}; stopping", file=sys.stderr)
                return 1
        return 0
    finally:
        for _comp, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for _comp, proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        print("demo: stopped")


if __name__ == "__main__":
    raise SystemExit(main())
