"""Every test that starts a broker or a process is marked `integration` (issue #16)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
STARTS_SOMETHING = re.compile(r"subprocess\.(run|Popen|check_output|call)\(|LocalBroker\(|Popen\(")
MARKED = "pytestmark = pytest.mark.integration"


def test_a_module_that_starts_processes_or_brokers_is_marked():
    unmarked = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        if STARTS_SOMETHING.search(text := path.read_text()) and MARKED not in text
    ]
    assert unmarked == [], f"add `{MARKED}` to: {unmarked}"


def test_a_test_using_the_broker_is_marked(broker, request):
    """tests/conftest.py marks it, whatever its module says (this one says nothing)."""
    assert request.node.get_closest_marker("integration") is not None
