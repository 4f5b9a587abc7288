"""Every `python -m` entry point answers `--help` with its options and exits 0, starting nothing.

The entry points are found in the source (every `__main__.py` and every module with an
`if __name__ == "__main__":` block), so a new one is covered without touching this test.
Each runs as a process of its own (stdout and stderr in one log) pointed at a listening
socket of the test's own: an entry point that connected to its broker (or started a demo
broker, or wrote its heartbeat) would show.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import service_launcher

pytestmark = pytest.mark.integration  # starts processes

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared", "bench")
MAIN_BLOCK = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.MULTILINE)
#: subcommands with their own options
SUBCOMMANDS = [
    ["services.wican_soc", "record"],
    ["services.wican_soc", "replay"],
    ["services.wican_soc", "detect"],
]
#: a bound on "returned without starting anything", not a timing goal: a service that
#: started would run until killed
BOUND_S = 60


def entry_points() -> list[list[str]]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if path.name == "__main__.py":
                found.add(module.removesuffix(".__main__"))
            elif MAIN_BLOCK.search(path.read_text(encoding="utf-8")):
                found.add(module)
    return [[m] for m in sorted(found)] + SUBCOMMANDS


ENTRY_POINTS = entry_points()


def test_the_known_entry_points_are_found():
    modules = {tuple(e) for e in ENTRY_POINTS}
    for known in [
        "services.sim.wican",
        "services.sim.meter",
        "services.sim.bic",
        "services.bic_gateway",
        "services.bic_gateway.cli",
        "services.wican_soc",
        "services.wican_status",
        "services.charge_controller",
        "services.api",
        "services.devstack",
        "shared.healthcheck",
    ]:
        assert (known,) in modules


def run_help(args: list[str], tmp: Path) -> tuple[subprocess.CompletedProcess, bool]:
    """``python -m <args> --help`` against a listener that notes a connection: (result,
    connected)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    port = str(listener.getsockname()[1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CANBRIDGE_")},
        "PYTHONPATH": str(ROOT),
        "CANBRIDGE_MQTT__HOST": "127.0.0.1",
        "CANBRIDGE_MQTT__PORT": port,
        "CANBRIDGE_DEMO_MQTT_PORT": port,
        "CANBRIDGE_DEMO_DIR": str(tmp / "demo"),
        "CANBRIDGE_HEALTH_FILE": str(tmp / "heartbeat"),
        "CANBRIDGE_LOG_FORMAT": "json",
    }
    log = tmp / "help.log"
    try:
        # started as the integration tests start services (tests/service_launcher.py): a fork
        # of a warm interpreter costs a third of a fresh `python -m`
        proc = service_launcher.start([sys.executable, "-m", *args, "--help"], ROOT, env, log)
        try:
            proc.wait(timeout=BOUND_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        listener.close()
    result = subprocess.CompletedProcess(proc.args, proc.wait(), log.read_text(), "")
    return result, connected


# Each entry point runs in a test of its own (pytest-xdist spreads them over its workers).
@pytest.mark.parametrize("args", ENTRY_POINTS, ids=" ".join)
def test_help_prints_usage_and_exits_0_starting_nothing(args, tmp_path):
    result, connected = run_help(args, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "usage:" in result.stdout, result.stdout
    assert "-h, --help" in result.stdout
    assert "service_starting" not in result.stdout + result.stderr
    assert not connected, "it connected to the broker port while answering --help"
    assert not (tmp_path / "demo").exists(), "the demo started its broker"
    assert not (tmp_path / "heartbeat").exists(), "a service wrote its heartbeat"
