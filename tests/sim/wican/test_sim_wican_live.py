"""The WiCAN simulator's several cars and sleep/wake cycle, with wican-status and wican-soc."""

from __future__ import annotations

import json

import pytest
from harness import Probe
from wican_soc.wican_stack import near

pytestmark = pytest.mark.integration

LEAF, EUP = "d0d0cafe0001", "d0d0cafe0002"


def vehicle(name: str, device: str, profile: str) -> dict:
    return {
        "name": name,
        "device_id": device,
        "profile": profile,
        "poll_interval_s": 1,
        "soc_topic": f"car/{name}/soc",
    }


def start(service, broker, tmp_path, vehicles: list[dict], cars: list[dict]):
    env = {"CANBRIDGE_VEHICLES": json.dumps(vehicles), "CANBRIDGE_HEARTBEAT_INTERVAL_S": "1"}
    service(["-m", "services.wican_soc"], "wican-soc", {**env, "CANBRIDGE_HEALTH_FILE": ""})
    service(
        ["-m", "services.wican_status"],
        "wican-status",
        {
            **env,
            "CANBRIDGE_HEALTH_FILE": "",
            "CANBRIDGE_ANSWER_TIMEOUT_S": "0.5",
            "CANBRIDGE_RETRY_INITIAL_S": "0.2",
            "CANBRIDGE_RETRY_MAX_S": "1",
            "CANBRIDGE_MIN_GAP_S": "0.1",
        },
    )
    return service(
        ["-m", "services.sim.wican"],
        "wican",
        {
            "CANBRIDGE_CARS": json.dumps(cars),
            "CANBRIDGE_HEALTH_FILE": str(tmp_path / "sim.hb"),
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "1",
        },
    )


def soc_is(watcher: Probe, topic: str, target: float) -> None:
    watcher.wait_for(
        topic, where=lambda m: not m.retain and near(json.loads(m.payload)["soc"], target, 0.2)
    )


def test_two_cars_on_two_adapters_answer_at_once(service, probe, broker, tmp_path):
    # the second adapter logs in with a login of its own (a spare one of the test broker)
    login = "wican.probe8"
    password = tmp_path / "van-password"
    password.write_text(broker.passwords[login])
    cars = [
        {"device_id": LEAF, "profile": "nissan-leaf-ze1", "soc": 61.5},
        {
            "device_id": EUP,
            "profile": "vw-e-up",
            "soc": 42.0,
            "login": login,
            "password_file": str(password),
        },
    ]
    watcher = probe()
    watcher.subscribe("#")
    start(
        service,
        broker,
        tmp_path,
        [vehicle("leaf", LEAF, "nissan-leaf-ze1"), vehicle("eup", EUP, "vw-e-up")],
        cars,
    )
    watcher.wait_for(f"wican/{LEAF}/status", '{"status": "online"}')
    watcher.wait_for(f"wican/{EUP}/status", '{"status": "online"}')
    soc_is(watcher, "car/leaf/soc", 61.5)
    soc_is(watcher, "car/eup/soc", 42.0)  # 0.4 % steps
    # each car answers only on its own adapter
    eup_rx = [json.loads(m.payload) for m in watcher.received(f"wican/{EUP}/can/rx")]
    assert {f["id"] for m in eup_rx for f in m["frame"]} == {0x7ED}
    assert watcher.publish(f"sim/wican/{EUP}/set", json.dumps({"soc": 80})) == 0
    soc_is(watcher, "car/eup/soc", 80.0)


def test_adapter_sleeps_after_switch_off_and_wakes_to_charge(service, probe, broker, tmp_path):
    status = f"wican/{LEAF}/status"
    watcher = probe()
    watcher.subscribe("#")
    cars = [
        {"device_id": LEAF, "profile": "nissan-leaf-ze1", "sleep_after_s": 2, "offline_delay_s": 1}
    ]
    sim = start(service, broker, tmp_path, [vehicle("leaf", LEAF, "nissan-leaf-ze1")], cars)
    soc_is(watcher, "car/leaf/soc", 55.0)
    assert watcher.publish(f"sim/wican/{LEAF}/set", json.dumps({"ignition": False})) == 0
    watcher.wait_for(status, '{"status": "offline"}', where=lambda m: not m.retain)
    # asleep before the last will: the adapter logged falling asleep, then the status
    logged = [json.loads(line)["event"] for line in sim.log().splitlines() if line.startswith("{")]
    assert logged.index("adapter_asleep") < logged.index("status")
    watcher.clear()
    command = {"charging": True, "soc": 57.0}
    assert watcher.publish(f"sim/wican/{LEAF}/set", json.dumps(command)) == 0
    watcher.wait_for(status, '{"status": "online"}')
    soc_is(watcher, "car/leaf/soc", 57.0)


@pytest.mark.parametrize(
    ("profile", "soc"),
    [
        ("bmw-i3-mini-se", 63.4),  # extended addressing, 3 frames
        ("mitsubishi-outlander-phev-2023", 44.8),  # functional request, 29-bit
        ("hyundai-kia-egmp", 71.5),  # 7 frames
    ],
)
def test_catalogue_cars_reach_the_services(service, probe, broker, tmp_path, profile, soc):
    watcher = probe()
    watcher.subscribe("car/#")
    cars = [{"device_id": LEAF, "profile": profile, "soc": soc}]
    start(service, broker, tmp_path, [vehicle("car", LEAF, profile)], cars)
    soc_is(watcher, "car/car/soc", soc)
