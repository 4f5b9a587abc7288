"""Every test that starts a broker or a process is marked `integration` (issue #16)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import service_launcher

TESTS = Path(__file__).resolve().parents[1]
STARTS_SOMETHING = re.compile(r"subprocess\.(run|Popen|check_output|call)\(|LocalBroker\(|Popen\(")
MARKED = "pytestmark = pytest.mark.integration"
#: the marker alone, or first in a list of marks
MARKED_IN = re.compile(r"^pytestmark = (\[\s*)?pytest\.mark\.integration\b", re.MULTILINE)


def test_a_module_that_starts_processes_or_brokers_is_marked():
    unmarked = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        # this module's one process is refused before it starts (the last test below)
        if path != Path(__file__).resolve()
        and STARTS_SOMETHING.search(text := path.read_text())
        and not MARKED_IN.search(text)
    ]
    assert unmarked == [], f"add `{MARKED}` to: {unmarked}"


def test_a_test_using_the_broker_is_marked(broker, request):
    """tests/conftest.py marks it, whatever its module says (this one says nothing)."""
    assert request.node.get_closest_marker("integration") is not None


def test_an_unmarked_test_cannot_start_a_process():
    """tests/conftest.py stops a process started from a test without the marker (through a
    helper, too, where the module check above sees nothing)."""
    with pytest.raises(AssertionError, match="starts a process: mark it"):
        subprocess.run(["true"], check=True)


def test_an_unmarked_test_cannot_fork_a_service(monkeypatch, tmp_path):
    """The same for a service forked by tests/service_launcher.py instead of Popen."""
    monkeypatch.setenv("CANBRIDGE_TEST_FORK", "1")
    with pytest.raises(AssertionError, match="starts a process: mark it"):
        service_launcher.start(
            [sys.executable, "-m", "services.sim.meter"], tmp_path, {}, tmp_path / "log"
        )
