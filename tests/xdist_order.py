"""The order in which pytest-xdist hands the tests out (tests/conftest.py applies it)."""

from __future__ import annotations

import pytest


def schedule(items: list[pytest.Item]) -> list[pytest.Item]:
    """The order for pytest-xdist, which gives each worker two consecutive tests to start with
    and then the next ones as workers free up: the suite cannot end before its longest test,
    so the longest start first, each on a worker of its own.

    Tests marked `long(seconds)` come first, longest first, each followed by one quick test
    (a unit test from the end of the list), so a worker's first pair never holds two long
    ones. Then the other integration and exhaustive tests, then the unit tests. Every
    worker computes the same order (xdist checks that their collections agree); within a
    group each module's tests keep their order."""
    long = sorted(
        (item for item in items if item.get_closest_marker("long")),
        key=lambda item: -_expected_s(item),
    )
    rest = sorted(
        (item for item in items if not item.get_closest_marker("long")),
        key=lambda item: not _slow_kind(item),
    )
    order: list[pytest.Item] = []
    for item in long:
        order.append(item)
        if rest and not _slow_kind(rest[-1]):
            order.append(rest.pop())
    return order + rest


def _expected_s(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    assert marker is not None and marker.args, f"{item.nodeid}: use @pytest.mark.long(seconds)"
    return float(marker.args[0])


def _slow_kind(item: pytest.Item) -> bool:
    return bool(item.get_closest_marker("integration") or item.get_closest_marker("exhaustive"))
