"""A setpoint the wear governor held back in part is completed when the unit's interval ends, and
`setpoint` says so (``source: "held"``): the gateway runs in-process on python-can's virtual bus
with the simulator (a unit without EEP_OFF, so every setpoint register wears the EEPROM)."""

from __future__ import annotations

import pytest
from bic_gateway.bic_stack import gateway_on_virtual_bus
from bic_gateway.test_bic_bus_errors import RecordingClient, set_message
from structlog.testing import capture_logs

BASE = "canbridge/bic/0"
INTERVAL_S = 1.0


@pytest.fixture
def gateway(tmp_path):
    client = RecordingClient()
    wear = {"min_interval_s": INTERVAL_S}
    with gateway_on_virtual_bus(tmp_path, client, wear, eep_off_supported=False) as (gw, _t):
        yield gw, client


def test_the_held_part_of_a_setpoint_is_written_later_and_announced(gateway):
    gw, client = gateway
    with capture_logs() as logs:
        gw.on_set(set_message("current", b"3"))
        first = client.wait_for(f"{BASE}/setpoint", where=lambda p: p["source"] == "current")
        assert first["deferred"], "the first EEPROM write uses the interval; the rest wait"
        held = client.wait_for(f"{BASE}/setpoint", where=lambda p: p["source"] == "held")
        done = client.wait_for(
            f"{BASE}/setpoint", where=lambda p: p["source"] == "held" and not p["deferred"]
        )
    assert held["written"] and held["registers"] == first["registers"]
    assert done["registers"] == first["registers"]
    assert not [e for e in logs if e["event"] == "bus_worker_step_failed"]
