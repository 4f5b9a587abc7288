"""A service forked by tests/service_launcher.py sees what `python -m` / `python script.py`
started by Popen sees, and ends with the same exit status; the project's modules it gets
preloaded read nothing at import that would differ between the zygote and the child."""

from __future__ import annotations

import ast
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
    # the project's library modules come preloaded from the zygote, entry points never
    assert seen.pop("project_modules") == []
    preloaded = set(service_launcher.project_library_modules(PROJECT))
    assert set(forked_seen.pop("project_modules")) <= preloaded
    assert (forked_code, forked_seen) == (code, seen) and code == ENDINGS[ending]
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


def test_every_project_library_module_is_preloaded_and_no_entry_point():
    modules = service_launcher.project_library_modules(PROJECT)
    assert "services.bic_gateway.gateway" in modules and "shared.mqtt_client" in modules
    assert "services.bic_gateway.cli" not in modules  # an entry point of its own
    assert not [m for m in modules if m.endswith("__main__")]


#: what a module may not read at import: it would see the zygote's process, not the child's
PROCESS_DATA = {("os", "environ"), ("sys", "argv")}
PROCESS_CALLS = {
    ("os", "getenv"),
    ("os", "getpid"),
    ("os", "getcwd"),
    ("time", "time"),
    ("time", "monotonic"),
    ("datetime", "now"),
    ("random", "random"),
}


def _reads_process_state(node: ast.AST) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return None
    pair = (target.value.id, target.attr)
    called = isinstance(node, ast.Call) and pair in PROCESS_CALLS
    return f"{pair[0]}.{pair[1]}" if called or pair in PROCESS_DATA else None


def _import_time_nodes(tree: ast.Module):
    """Every node that runs when the module is imported: module and class bodies, default
    values and decorators, but not function bodies."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(d for d in [*node.args.defaults, *node.args.kw_defaults] if d)
            pending.extend(getattr(node, "decorator_list", []))
            continue
        pending.extend(ast.iter_child_nodes(node))


def test_no_project_module_reads_process_state_at_import():
    found = []
    for name in service_launcher.project_library_modules(PROJECT):
        path = PROJECT.joinpath(*name.split(".")).with_suffix(".py")
        if not path.is_file():
            path = path.with_suffix("") / "__init__.py"
        for node in _import_time_nodes(ast.parse(path.read_text("utf-8"))):
            if what := _reads_process_state(node):
                found.append(f"{name}:{getattr(node, 'lineno', '?')}: {what}")
    assert found == []


def test_the_import_time_check_can_fail():
    source = (
        "X = os.environ.get('A')\nT = time.time()\nclock = time.time\ndef f():\n    os.getpid()\n"
    )
    hits = {_reads_process_state(n) for n in _import_time_nodes(ast.parse(source))}
    assert hits - {None} == {"os.environ", "time.time"}
