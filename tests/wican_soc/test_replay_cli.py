"""`python -m services.wican_soc replay` (no broker) and the record line format."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wican_soc.builtin_profiles import builtin_profiles

from services.wican_soc.record import Recorder
from services.wican_soc.replay import replay

pytestmark = pytest.mark.integration  # starts processes

PROJECT = Path(__file__).resolve().parents[2]
VECTOR = Path(__file__).parent / "vectors" / "nissan-leaf-ze1.rx.jsonl"
LEAF = builtin_profiles()["nissan-leaf-ze1"]


def test_replay_command_prints_the_values_of_the_capture():
    done = subprocess.run(
        [sys.executable, "-m", "services.wican_soc", "replay", str(VECTOR), "--profile",
         "nissan-leaf-ze1"],
        cwd=PROJECT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "soc = 84.4233 %" in done.stdout
    assert "soc_bms = 82.1002 %" in done.stdout
    assert "flow control -> 0x79B: 30 00 00 00 00 00 00 00" in done.stdout


def test_replay_with_the_wrong_profile_decodes_nothing():
    out = io.StringIO()
    assert replay(VECTOR.read_text().splitlines(), builtin_profiles()["renault-twizy"], out) == 0


def test_replay_reports_bad_lines_and_an_unfinished_transfer():
    lines = VECTOR.read_text().splitlines()[:3] + ["not json"]
    out = io.StringIO()
    assert replay(lines, LEAF, out) == 0
    text = out.getvalue()
    assert "line 4: skipped" in text
    assert "end: dropped: timeout" in text


def test_recorded_lines_replay_and_can_be_filtered_by_device():
    recorder = Recorder(io.StringIO(), count=8)
    for line in VECTOR.read_text().splitlines():
        recorder.on_message(type("M", (), {"topic": "wican/aa/can/rx", "payload": line.encode()}))
    assert recorder.done.is_set()
    lines = recorder.out.getvalue().splitlines()
    assert json.loads(lines[0])["topic"] == "wican/aa/can/rx"
    assert replay(lines, LEAF, io.StringIO(), device="aa") == 1
    assert replay(lines, LEAF, io.StringIO(), device="bb") == 0


def test_unknown_profile_exits_2():
    done = subprocess.run(
        [sys.executable, "-m", "services.wican_soc", "replay", str(VECTOR), "--profile", "x"],
        cwd=PROJECT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown profile 'x'" in done.stderr
