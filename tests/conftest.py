"""Fixtures shared by every test: a real mosquitto with the project's config."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

import coverage
import pytest
import service_launcher
import xdist_order
from harness import Probe, ServiceProcess, probe_login, probe_logins

from services.broker_setup.local_broker import LocalBroker


def pytest_collection_modifyitems(items):
    """Every test that uses the real broker (directly or through another fixture) is an
    integration test, whatever its module declares: `-m "not integration"` leaves it out.
    Tests that start processes without these fixtures declare the marker themselves, which
    tests/system/test_integration_marker.py checks (and `_no_process_unless_marked` when
    they run).

    Property (hypothesis) tests are marked `exhaustive` here, a few seeded-random bulk tests
    by hand: they run untraced (`pytest_runtest_call` below).

    Then the order in which pytest-xdist hands tests out (tests/xdist_order.py)."""
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
        if _property(item):
            item.add_marker(pytest.mark.exhaustive)
        if item.get_closest_marker("alone"):
            _check_alone_is_findable(item)
    items[:] = xdist_order.schedule(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """An `exhaustive` test runs with coverage stopped: it drives thousands of inputs through
    code the example-based tests already cover, and line tracing made these tests three to six
    times slower (the controller's properties: 17 s -> 108 s; 40 s -> 130 s CPU for all of
    them). pytest-cov's `no_cover` marker is not enough under pytest-xdist: a worker measures
    with a second Coverage object that marker does not pause."""
    if not item.get_closest_marker("exhaustive"):
        return (yield)
    with _coverage_stopped():
        return (yield)


@contextlib.contextmanager
def _coverage_stopped() -> Iterator[None]:
    stopped = _stop_coverage()
    try:
        yield
    finally:
        _start_coverage(stopped)


def _stop_coverage() -> list[coverage.Coverage]:
    stopped: list[coverage.Coverage] = []
    while (running := coverage.Coverage.current()) is not None:
        running.stop()
        stopped.append(running)
    return stopped


def _start_coverage(stopped: list[coverage.Coverage]) -> None:
    for cov in reversed(stopped):
        cov.start()


#: coverage this process paused until its collection is done (pytest_sessionstart)
_paused_for_collection: list[coverage.Coverage] = []


@pytest.hookimpl(trylast=True)  # after pytest-cov started measuring in its sessionstart
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, only the first worker measures its collection; the controller
    measures nothing.

    Every worker collects the whole suite: the same test modules import the same project
    modules, so their module-level lines (imports, `def`, `class`, constants) run alike in
    each. One worker's measurement of that is the whole of it, and the data of all workers
    is combined. Line tracing doubled a worker's collection (2.6 -> 4.4 s CPU per worker).
    The other workers measure from the end of their collection on, so a module first
    imported by a test is still measured where it runs. The controller process runs no test
    (it hands them out and reports)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        if getattr(session.config.option, "numprocesses", None):
            _stop_coverage()  # the xdist controller: its measurement stays empty
    elif worker != "gw0":
        _paused_for_collection.extend(_stop_coverage())


def pytest_collection_finish(session: pytest.Session) -> None:
    _start_coverage(_paused_for_collection)
    _paused_for_collection.clear()


def _check_alone_is_findable(item: pytest.Item) -> None:
    """`make test` runs the `alone` tests from the files that name the marker (a grep, so
    that run does not collect the whole suite again): a test marked some other way would
    run in neither pytest run."""
    path = item.path
    if "mark.alone" not in path.read_text(encoding="utf-8"):
        raise pytest.UsageError(
            f"{item.nodeid} is marked `alone` but its file does not say `pytest.mark.alone`:"
            " make test would not run it"
        )


def _property(item: pytest.Item) -> bool:
    return bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


class UnmarkedProcessError(AssertionError):
    """A test not marked `integration` started a process."""


#: the test running now, if it is not marked `integration` (one per xdist worker process)
_unmarked: list[str] = []
_popen_init = subprocess.Popen.__init__


def _refuse_unmarked() -> None:
    if _unmarked:
        raise UnmarkedProcessError(
            f"{_unmarked[0]} starts a process: mark it (or its module) `pytest.mark.integration`"
        )


def _guarded_popen_init(self, *args, **kwargs):
    _refuse_unmarked()
    _popen_init(self, *args, **kwargs)


subprocess.Popen.__init__ = _guarded_popen_init  # type: ignore[method-assign]
# a service forked by the launcher is a process too
service_launcher.start_guards.append(_refuse_unmarked)


def pytest_sessionfinish(session):
    """This worker's service zygote, if a test started one, stops with the session."""
    service_launcher.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Setup, call and teardown of a test not marked `integration` may start no process."""
    if item.get_closest_marker("integration") is None:
        _unmarked.append(item.nodeid)
    try:
        return (yield)
    finally:
        _unmarked.clear()


@pytest.fixture
def broker():
    """A fresh mosquitto on a free port: project mosquitto.conf + ACL, generated passwords.

    It lives in its own /tmp folder (not pytest's 0700 tree) because mosquitto,
    started as root, drops to its own user before reading its files.
    """
    b = LocalBroker(extra_logins=probe_logins())
    b.start()
    yield b
    b.stop()
    shutil.rmtree(b.root, ignore_errors=True)


@pytest.fixture
def probe(broker):
    """Factory for connected probes; closed at the end of the test.

    The broker binds a client id to its login, so each probe logs in with a spare
    login that has `user`'s rights (`admin.probe1`, ...) and never kicks off a
    service or another probe; `exact=True` logs in as `user` itself.
    """
    made: list[Probe] = []
    count: dict[str, int] = {}

    def make(
        user: str | None = "admin", password: str | None = None, exact: bool = False, **kw
    ) -> Probe:
        login = user
        if user is not None and password is None and not exact:
            count[user] = count.get(user, 0) + 1
            login = probe_login(user, count[user])
            assert login in broker.passwords, f"too many probes of {user} in one test"
        p = Probe(broker, login, password, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def service(broker, tmp_path):
    """Factory for service subprocesses; terminated at the end of the test."""
    started: list[ServiceProcess] = []

    def start(args: list[str], user: str, env: dict[str, str] | None = None) -> ServiceProcess:
        sp = ServiceProcess(args, broker, user, tmp_path, env)
        started.append(sp)
        return sp

    yield start
    for sp in started:
        if sp.proc.poll() is None:
            sp.proc.kill()
            sp.proc.wait()
