"""The detect command end to end: broker, the WiCAN simulator playing recorded cars, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from detect_cars import car_entry
from harness import PROJECT, Probe
from wican_soc.builtin_profiles import builtin_profiles
from wican_soc.wican_stack import DEVICE, STATUS, TX

from shared.wican_payload import parse_tx

pytestmark = pytest.mark.integration
PROFILES = builtin_profiles()
FAST = ["--timeout-s", "0.4", "--gap-s", "0.05"]


def start_car(service, probe, tmp_path, cars: list[dict]) -> Probe:
    cars_file = tmp_path / "cars.json"
    cars_file.write_text(json.dumps({"cars": cars}))
    watcher = probe()
    watcher.subscribe(TX)
    watcher.subscribe(STATUS)
    service(
        ["-m", "services.sim.wican"],
        "wican",
        {"CANBRIDGE_DEVICE_ID": DEVICE, "CANBRIDGE_CARS_FILE": str(cars_file)},
    )
    watcher.wait_for(STATUS, '{"status": "online"}')
    return watcher


def run_detect(service, tmp_path, *args: str) -> tuple[int, str, object]:
    out = tmp_path / "detect.jsonl"
    proc = service(
        ["-m", "services.wican_soc", "detect", "--device", DEVICE, "--out", str(out), *args],
        "wican-soc",
    )
    code = proc.proc.wait(120)
    return code, proc.log(), out


def ranking(log: str) -> list[str]:
    """Profile names of the PLAUSIBLE lines, best first."""
    return [
        line.split(". ", 1)[1].split(" ", 1)[0]
        for line in log.splitlines()
        if ". " in line and ": PLAUSIBLE:" in line
    ]


@pytest.mark.long(17)
def test_detect_finds_the_leaf_among_all_profiles_and_the_recording_replays(
    service, probe, tmp_path
):
    leaf = PROFILES["nissan-leaf-ze1"]
    watcher = start_car(service, probe, tmp_path, [car_entry(leaf, "leaf")])
    code, log, recording = run_detect(service, tmp_path, *FAST)
    assert code == 0, log
    assert ranking(log)[0] == "nissan-leaf-ze1", log
    assert "best fit: nissan-leaf-ze1" in log
    # only read requests and Flow Control went to the car
    for message in watcher.received(TX):
        for frame in parse_tx(message.payload):
            data = frame.data[1:] if frame.id == 0x6F1 else frame.data
            assert data[0] >> 4 == 3 or data[1] in (0x01, 0x21, 0x22), frame
    replay = subprocess.run(
        [sys.executable, "-m", "services.wican_soc", "replay", str(recording),
         "--profile", "nissan-leaf-ze1"],
        cwd=PROJECT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "soc = 84.4233 %" in replay.stdout


@pytest.mark.parametrize(
    ("car", "expected"),
    [
        ("bmw-i3-mini-se", "bmw-i3-mini-se"),  # extended addressing, Flow Control with 0x07
        ("mitsubishi-outlander-phev-2023", "mitsubishi-outlander-phev-2023"),  # functional id
        ("renault-zoe-ph2", "renault-zoe-ph2"),  # 29-bit, shares its request with the Ariya
    ],
)
def test_detect_recognises_other_cars(service, probe, tmp_path, car, expected):
    start_car(service, probe, tmp_path, [car_entry(PROFILES[car], car)])
    candidates = ",".join(
        [car, "nissan-ariya", "nissan-leaf-ze1", "hyundai-kia-egmp", "bmw-i3-mini-se"]
    )
    code, log, _ = run_detect(service, tmp_path, "--only", candidates, *FAST)
    assert code == 0, log
    assert ranking(log)[0] == expected, log


def test_detect_exits_1_when_nothing_answers(service, probe, tmp_path):
    start_car(service, probe, tmp_path, [car_entry(PROFILES["jaguar-i-pace"], "ipace")])
    code, log, _ = run_detect(service, tmp_path, "--only", "vw-e-up,xpeng", *FAST)
    assert code == 1, log
    assert "0 of 2 profile(s) decoded a plausible SoC" in log
