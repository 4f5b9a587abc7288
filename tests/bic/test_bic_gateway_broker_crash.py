"""A BIC unit's retained info, state and energy counters survive a broker crash (issue 12
item 7): the real gateway re-asserts them when it reconnects to a broker that lost them."""

from __future__ import annotations

import time

import pytest
from bic_stack import payload, private_bus, start_stack

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"


def test_info_state_and_energy_are_back_within_5_s(broker, probe, service, tmp_path):
    watcher = probe()
    watcher.subscribe(f"{BASE}/#")
    start_stack(service, private_bus(), tmp_path)
    info = payload(watcher.wait_for(f"{BASE}/info"))
    watcher.wait_for(f"{BASE}/energy_charged")

    broker.crash()  # SIGKILL, and as if it had never saved
    (broker.root / "data" / "mosquitto.db").unlink(missing_ok=True)
    broker.start()
    started = time.monotonic()
    fresh = probe()
    fresh.subscribe(f"{BASE}/#")
    assert payload(fresh.wait_for(f"{BASE}/info", timeout=5.0)) == info
    payload(fresh.wait_for(f"{BASE}/state", timeout=5.0))
    for name in ("energy_charged", "energy_discharged"):
        fresh.wait_for(f"{BASE}/{name}", timeout=5.0)
    assert time.monotonic() - started < 5.0
