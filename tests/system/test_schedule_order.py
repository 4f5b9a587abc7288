"""The order tests/xdist_order.py hands to pytest-xdist (longest first, each with a quick partner),
and the exhaustive tests run untraced."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import coverage
import pytest
import xdist_order


class Item:
    def __init__(self, name: str, *marks: str, seconds: float | None = None) -> None:
        self.name = self.nodeid = name
        self.marks = {m: SimpleNamespace(args=()) for m in marks}
        if seconds is not None:
            self.marks["long"] = SimpleNamespace(args=(seconds,))

    def get_closest_marker(self, name: str):
        return self.marks.get(name)


def names(items) -> list[str]:
    return [item.name for item in items]


def test_long_tests_come_first_longest_first_each_followed_by_a_unit_test():
    items = [
        Item("unit-a"),
        Item("stack", "integration"),
        Item("fuzz", "integration", seconds=60),
        Item("unit-b"),
        Item("browser", "integration", seconds=40),
        Item("property", "exhaustive"),
        Item("unit-c"),
    ]
    order = names(xdist_order.schedule(items))
    assert order == ["fuzz", "unit-c", "browser", "unit-b", "stack", "property", "unit-a"]


def test_without_quick_tests_the_long_ones_still_lead():
    items = [Item("stack", "integration"), Item("slow", "integration", seconds=9)]
    assert names(xdist_order.schedule(items)) == ["slow", "stack"]


def test_a_long_mark_without_seconds_is_refused():
    with pytest.raises(AssertionError, match="long\\(seconds\\)"):
        xdist_order.schedule([Item("x", "long")])


@pytest.mark.exhaustive
def test_an_exhaustive_test_runs_with_coverage_stopped():
    # under `make test` (--cov, in an xdist worker) this is the check that tests/conftest.py
    # stopped every Coverage object, not only the one pytest-cov's no_cover would pause
    assert coverage.Coverage.current() is None
    assert sys.gettrace() is None
