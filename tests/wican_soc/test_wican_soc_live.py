"""wican-status + wican-soc + the WiCAN simulator as processes against the real broker."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import pairwise

import pytest
from harness import Probe
from wican_soc.wican_stack import (
    DEVICE,
    RX,
    SET,
    SOC_TOPIC,
    STATUS,
    TX,
    near,
    soc_of,
    start_stack,
    wait_soc,
)

pytestmark = pytest.mark.integration
VALUE_TOPIC = "canbridge/vehicle/leaf/soc"


def record_expiry(watcher: Probe) -> dict[str, list[int | None]]:
    """Make the probe remember the message expiry of every message it receives."""
    expiries: dict[str, list[int | None]] = {}
    on_message = watcher.client.on_message

    def with_expiry(client, userdata, msg):
        props = msg.properties
        value = getattr(props, "MessageExpiryInterval", None) if props else None
        expiries.setdefault(msg.topic, []).append(value)
        on_message(client, userdata, msg)

    watcher.client.on_message = with_expiry
    return expiries


def test_retained_soc_appears_after_online(service, probe, tmp_path):
    watcher = probe()
    expiries = record_expiry(watcher)
    watcher.subscribe("#")
    stack = start_stack(service, tmp_path, vehicle={"expiry_s": 3600})
    watcher.wait_for(STATUS, '{"status": "online"}')
    message = wait_soc(watcher, 55.0)
    data = json.loads(message.payload)
    assert data["vehicle"] == "leaf"
    assert datetime.fromisoformat(data["time"]).utcoffset() is not None
    assert set(data) == {"soc", "time", "soc_bms", "hx", "vehicle"}
    # the request went out after online, the Flow Control after the First Frame
    topics = [(m.topic, m.payload) for m in watcher.messages]
    first_tx = next(i for i, (t, _) in enumerate(topics) if t == TX)
    assert any(t == STATUS for t, _ in topics[:first_tx])
    first_frame = next(i for i, (t, p) in enumerate(topics) if t == RX and b'"data":[16,53' in p)
    flow_control = next(i for i, (t, p) in enumerate(topics) if t == TX and b"[48,0,0" in p)
    assert first_frame < flow_control
    assert expiries[SOC_TOPIC][0] in (3600, 3599)

    late = probe()
    late.subscribe(SOC_TOPIC)
    late.subscribe("canbridge/vehicle/leaf/+")
    retained = late.wait_for(SOC_TOPIC, where=lambda m: m.retain)
    assert near(soc_of(retained), 55.0)
    assert float(late.wait_for(VALUE_TOPIC, where=lambda m: m.retain).text) == 55.0
    state = json.loads(late.wait_for("canbridge/vehicle/leaf/state").payload)
    assert state["device_id"] == DEVICE and state["profile"] == "nissan-leaf-ze1"
    assert '"event": "vehicle_values"' in stack.soc.log()


def test_values_refresh_while_online_and_stop_while_asleep(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("#")
    start_stack(service, tmp_path, sim_env={"CANBRIDGE_FRAMES_PER_MESSAGE": "3"})
    wait_soc(watcher, 55.0)
    assert watcher.publish(SET, json.dumps({"soc": 61.5})) == 0
    wait_soc(watcher, 61.5)  # asked again one poll interval later
    # several frames per rx message reassemble too
    assert any(m.payload.count(b'"id":1979') == 3 for m in watcher.received(RX))

    assert watcher.publish(SET, json.dumps({"awake": False, "soc": 70})) == 0
    watcher.wait_for(STATUS, '{"status": "offline"}')
    asleep = list(watcher.messages)  # everything up to the wake-up
    assert watcher.publish(SET, json.dumps({"awake": True})) == 0
    wait_soc(watcher, 70.0)
    # the sleeping car was never asked (nothing it could answer with 70 before the wake-up)
    assert not [m for m in asleep if m.topic == SOC_TOPIC and near(soc_of(m), 70.0)]


def test_nothing_is_published_from_a_garbled_transfer(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("#")
    stack = start_stack(
        service,
        tmp_path,
        sim_env={"CANBRIDGE_SOC": "11", "CANBRIDGE_CORRUPT_TRANSFERS": "1000"},
    )
    watcher.wait(lambda: _sn_skipped(watcher), "a reply whose SN 2 frame carries SN 3")
    assert watcher.publish(SET, json.dumps({"corrupt_transfers": 0, "soc": 77})) == 0
    wait_soc(watcher, 77.0)
    socs = [soc_of(m) for m in watcher.received(SOC_TOPIC)]
    assert all(near(s, 77.0) for s in socs), socs
    assert not [m for m in watcher.received(VALUE_TOPIC) if near(float(m.text), 11.0)]
    assert "sequence mismatch: expected SN 2, got 3" in stack.soc.log()
    assert '"event": "request_sent"' in stack.status.log()


def _sn_skipped(watcher: Probe) -> bool:
    """The simulator sent SN 1 followed by SN 3 (0x21, 0x23) in the same reply."""
    rx = [m.payload for m in watcher.received(RX)]
    return any(b'"data":[33,' in a and b'"data":[35,' in b for a, b in pairwise(rx))


def test_no_answer_is_retried_with_backoff(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe(TX)
    watcher.subscribe(SOC_TOPIC)
    start_stack(service, tmp_path, sim_env={"CANBRIDGE_SILENT": "true"})
    watcher.wait(lambda: len(watcher.received(TX)) >= 3, "three requests without answer")
    assert watcher.publish(SET, json.dumps({"silent": False, "soc": 42})) == 0
    wait_soc(watcher, 42.0)


def test_clean_recovery_after_the_broker_restarts(service, probe, tmp_path, broker):
    watcher = probe()
    watcher.subscribe("#")
    stack = start_stack(service, tmp_path)
    wait_soc(watcher, 55.0)
    watcher.close()

    broker.restart()

    after = Probe(broker, "admin")
    try:
        after.subscribe("#")
        retained = after.wait_for(SOC_TOPIC, where=lambda m: m.retain)  # persisted
        assert near(soc_of(retained), 55.0)
        # every process is back: services announce online, the adapter too
        after.wait_for("canbridge/wican-soc/status", "online", where=lambda m: not m.retain)
        after.wait_for("canbridge/wican-status/status", "online", where=lambda m: not m.retain)
        after.wait_for(STATUS, where=lambda m: not m.retain)
        assert after.publish(SET, json.dumps({"soc": 88})) == 0
        wait_soc(after, 88.0)
    finally:
        after.close()
    for proc in (stack.sim, stack.status, stack.soc):
        assert proc.proc.poll() is None, proc.log()[-2000:]


def test_clean_shutdown(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("#")
    stack = start_stack(service, tmp_path)
    wait_soc(watcher, 55.0)
    for proc in (stack.status, stack.soc, stack.sim):
        assert proc.terminate() == 0
    watcher.wait_for("canbridge/wican-soc/status", "offline")
    watcher.wait_for("canbridge/wican-status/status", "offline")
    watcher.wait_for(STATUS, '{"status": "offline"}')


def test_invalid_vehicle_config_exits_2_naming_vehicle_and_field(service):
    proc = service(
        ["-m", "services.wican_status"],
        "wican-status",
        {
            "CANBRIDGE_VEHICLES": json.dumps(
                [{"name": "leaf", "device_id": DEVICE, "profile": "nissan-leaf-ze1",
                  "poll_interval_s": 0}]
            )
        },
    )  # fmt: skip
    assert proc.proc.wait(15) == 2
    assert "vehicle 'leaf': poll_interval_s" in proc.log()
