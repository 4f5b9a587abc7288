"""Fixtures of the BIC integration tests."""

from __future__ import annotations

import pytest
from bic_stack import private_bus, start_stack

BASE = "canbridge/bic/0"


@pytest.fixture
def stack(broker, probe, service, tmp_path):
    """Simulator + gateway on a private bus; a probe (admin) subscribed to everything."""

    def start(sim=None, gateway=None):
        watcher = probe("admin")
        watcher.subscribe("canbridge/#")
        bus = private_bus()
        procs = start_stack(service, bus, tmp_path, sim, gateway)
        watcher.wait_for(f"{BASE}/availability", "online")
        watcher.wait_for(f"{BASE}/state")
        return watcher, bus, procs

    return start
