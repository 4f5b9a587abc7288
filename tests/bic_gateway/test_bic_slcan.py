"""The gateway on a USB adapter (slcan), as configured for a CANable: the real gateway process
opens a pseudo-terminal that speaks LAWICEL like the adapter, with the simulator behind it."""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import gateway_env, json_where, payload, unit_on_virtual_bus
from bic_gateway.slcan_adapter import SlcanAdapter

from services.sim.bic.timing import TimingRules

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"


#: The simulator timestamps a request when the pty adapter's thread has read, parsed and
#: forwarded it: that thread hop on a busy machine shifts one request by a millisecond or more
#: against the next, which the 1 ms default tolerance counted as a gateway breaking the 20 ms
#: period (a CI run saw 19.0 ms). The gateway's own pacing is held to 1 ms on the virtual bus
#: (test_bic_provisioning.py, test_bic_interrupt.py and others); here 4 ms still catches a
#: request sent without pacing.
ADAPTER_JITTER = TimingRules(tolerance_s=0.004)


@pytest.fixture
def adapter_with_unit():
    with unit_on_virtual_bus(timing=ADAPTER_JITTER) as (unit, loop, channel):
        adapter = SlcanAdapter(channel)
        yield adapter, unit, loop
        adapter.close()


@pytest.mark.alone  # the adapter and the simulated unit are threads in this process
def test_gateway_drives_a_unit_through_an_slcan_adapter(
    adapter_with_unit, probe, service, tmp_path
):
    adapter, unit, loop = adapter_with_unit
    watcher = probe("admin")
    watcher.subscribe(f"{BASE}/#")
    bus = {"CANBRIDGE_CAN__INTERFACE": "slcan", "CANBRIDGE_CAN__CHANNEL": adapter.path}
    gateway = service(["-m", "services.bic_gateway"], "bic-gateway", gateway_env(bus, tmp_path))

    info = payload(watcher.wait_for(f"{BASE}/info"))
    assert info["model"] == "BIC-2200-48" and info["serial"] == unit.serial
    watcher.wait_for(f"{BASE}/availability", "online")
    # the configured 250 kbit/s, set while the channel is closed, then opened
    commands = adapter.commands
    assert "S5" in commands and commands.index("C") < commands.index("S5") < commands.index("O")

    sender = probe("admin")  # set/current is not the controller's to send (ACL)
    sender.publish(f"{BASE}/set/current", json.dumps({"value": 3.5}))
    sp = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(current_a=3.5)))
    assert "IOUT_SET" in sp["written"] and sp["registers"]["IOUT_SET"] == 3.5
    with loop.lock:
        assert unit.registers["IOUT_SET"] == 350  # 0.01 A per bit, written through the adapter
    state = payload(watcher.wait_for(f"{BASE}/state", where=lambda m: payload(m)["current"] > 1))
    assert 48 < state["voltage"] < 54

    assert gateway.terminate() == 0
    with loop.lock:  # stopping idles the unit through the adapter too
        assert unit.registers["IOUT_SET"] < 350
    assert adapter.frames_from_host > 20
