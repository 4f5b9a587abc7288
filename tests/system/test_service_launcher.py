"""A service forked by tests/service_launcher.py sees what `python -m` / `python script.py`
started by Popen sees, and ends with the same exit status."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
import service_launcher

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
ENDINGS = {"finish": 0, "exit-3": 3, "exit-message": 1, "raise": 1, "interrupt": -2, "sleep": -15}


def started(monkeypatch, tmp_path, fork: bool, argv: list[str], ending: str):
    monkeypatch.setenv("CANBRIDGE_TEST_FORK", "1" if fork else "0")
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(PROJECT),
        "TZ": "Europe/Vienna",
        "LAUNCHER_PROBE_OUT": str(tmp_path / "observed.json"),
        "LAUNCHER_PROBE_PGRP": str(os.getpgrp()),
    }
    del env["CANBRIDGE_TEST_FORK"]  # says which way, nothing else differs
    log = tmp_path / "probe.log"
    proc = service_launcher.start([sys.executable, *argv, ending], PROJECT, env, log)
    assert isinstance(proc, service_launcher.ForkedProcess) is fork
    if ending == "sleep":
        while "to stderr" not in log.read_text():
            time.sleep(0.05)
        assert proc.poll() is None
        proc.terminate()
    code = proc.wait(30)
    assert proc.returncode == code == proc.poll()
    return code, json.loads((tmp_path / "observed.json").read_text()), log.read_text()


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize(
    "argv", [["-m", "tests.system.launcher_probe"], ["tests/system/launcher_probe.py"]]
)
def test_a_forked_start_is_a_fresh_start(monkeypatch, tmp_path, argv, ending):
    code, seen, log = started(monkeypatch, tmp_path, False, argv, ending)
    forked_code, forked_seen, forked_log = started(monkeypatch, tmp_path, True, argv, ending)
    assert (forked_code, forked_seen) == (code, seen) and code == ENDINGS[ending]
    assert seen["project_modules"] == []
    # a traceback has the zygote's frames in front: compare from the probe's own frames on
    if "Traceback" in log:
        assert forked_log.split("launcher_probe.py")[1:] == log.split("launcher_probe.py")[1:]
    else:
        assert forked_log == log


def test_wait_times_out_as_popen_does(monkeypatch, tmp_path):
    monkeypatch.setenv("CANBRIDGE_TEST_FORK", "1")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "LAUNCHER_PROBE_OUT": "/dev/null"}
    env["LAUNCHER_PROBE_PGRP"] = str(os.getpgrp())
    argv = [sys.executable, "tests/system/launcher_probe.py", "sleep"]
    proc = service_launcher.start(argv, PROJECT, env, tmp_path / "probe.log")
    with pytest.raises(service_launcher.subprocess.TimeoutExpired):
        proc.wait(0.2)
    proc.kill()
    assert proc.wait(30) == -9
    proc.kill()  # gone: nothing happens, as with Popen
