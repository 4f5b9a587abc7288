"""Fixtures of the BIC integration tests."""

from __future__ import annotations

import pytest
from bic_gateway.bic_stack import assert_no_violations, gateway_env, private_bus, start_stack

BASE = "canbridge/bic/0"


@pytest.fixture
def stack(broker, probe, service, tmp_path):
    """Simulator + gateway on a private bus; a probe (admin) subscribed to everything.

    At teardown, while the simulator still runs, asserts that the gateway broke none of the
    manual's rules the simulator checks (``allow_violations``: kinds a test causes on purpose).
    """
    started = []

    def start(sim=None, gateway=None, allow_violations=()):
        watcher = probe("admin")
        watcher.subscribe("canbridge/#")
        bus = private_bus()
        procs = start_stack(service, bus, tmp_path, sim, gateway)
        started.append((watcher, procs[0], tuple(allow_violations)))
        watcher.wait_for(f"{BASE}/availability", "online")
        watcher.wait_for(f"{BASE}/state")
        return watcher, bus, procs

    yield start
    for watcher, sim_proc, allow in started:
        if sim_proc.proc.poll() is None:  # a test that stopped the simulator checks nothing
            assert_no_violations(watcher, allow=allow)


@pytest.fixture
def cli_env(broker, monkeypatch, tmp_path):
    """``cli_env(bus)``: the CLI's settings (environment) for the gateway's login on ``bus``."""

    def apply(bus: dict[str, str], **extra: str) -> None:
        env = {**broker.env_for("bic-gateway"), **gateway_env(bus, tmp_path, **extra)}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("CANBRIDGE_CONFIG", raising=False)

    return apply
