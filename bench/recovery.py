"""How fast regulation resumes after a broker, controller or gateway restart (issue #12).

Run from the repo root: ``python -m bench.recovery`` (``make bench-recovery``; part of
``make bench``). A real mosquitto with the project config, the BIC simulator and the gateway on
a private udp_multicast bus, the meter simulator at a constant house load and the charge
controller, all as their own processes at their default settings. Once the battery covers the
house, one part is restarted and the clock runs from the moment it is back:

* ``broker``: SIGKILL and start again (the services reconnect by themselves); then the house
  load rises by 800 W, and the clock stops when the gateway applies a discharge larger than
  before (the controller regulates again, end to end). Also timed: when a new subscriber gets
  the unit's retained ``info`` again (published once at start, so only the gateway's re-assert
  brings it back; the broker's autosave file of the last 60 s may not have it);
* ``controller``: SIGKILL (its will idles the battery), then started again; the clock stops
  when the gateway applies a discharge of at least half the current that covered the house
  before (the law's first write after an idle asks for most of it: regulation has resumed);
* ``gateway``: SIGKILL (the unit keeps its last setpoint), then started again; once it says
  ``online`` (unit identified) the house load rises by 800 W, and the clock (from the start)
  stops when the gateway applies a discharge larger than before.

Each kind ``--rounds`` times. Goal (the issue's): regulation within 5 s of the restart.
Writes ``bench/results/recovery.json``. Process start-up is included for the controller and the
gateway (it is part of a restart); the machine it runs on matters, so the result names it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from bench.bic import connect, format_rows, private_bus, publish_checked, start, write_result
from services.broker_setup.local_broker import LocalBroker

RESULTS = Path(__file__).parent / "results" / "recovery.json"
GOAL_S = 5.0
HOUSE_W = 700.0
EXTRA_W = 800.0
APPLIED = "canbridge/bic/0/setpoint"
STATE = "canbridge/bic/0/state"
METER = "sim/meter/SENSOR"
INFO = "canbridge/bic/0/info"
AVAILABILITY = "canbridge/bic/0/availability"
KINDS = ("broker", "controller", "gateway")


class Watcher:
    """An admin client that keeps every new (not retained) message of the topics it follows,
    with its arrival."""

    def __init__(
        self,
        broker: LocalBroker,
        login: str,
        topics: tuple[str, ...],
        retained: tuple[str, ...] = (),
    ) -> None:
        self.messages: list[tuple[float, str, dict]] = []
        self.retained = retained  # topics whose retained value counts too
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, login, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(login, broker.passwords[login])
        self.client.on_message = self._on_message

        def subscribe_all(client: mqtt.Client, *_: object) -> None:
            for topic in topics:
                client.subscribe(topic, 1)

        self.client.on_connect = subscribe_all
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_message(self, _c, _u, msg) -> None:
        if msg.retain and msg.topic not in self.retained:  # a value from before: not news
            return
        try:
            data = json.loads(msg.payload)
        except ValueError:
            data = None
        if not isinstance(data, dict):  # e.g. `online`: kept as text
            data = {"text": msg.payload.decode("utf-8", "replace")}
        with self.cond:
            self.messages.append((time.monotonic(), msg.topic, data))
            self.cond.notify_all()

    def wait(self, topic: str, where, since: float, timeout: float) -> tuple[float, dict] | None:
        """(arrival, payload) of the first message on ``topic`` after ``since`` that ``where``
        accepts; None if none came within ``timeout``."""

        def found():
            for t, top, data in self.messages:
                if t >= since and top == topic and where(data):
                    return t, data
            return None

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def discharge_a(data: dict) -> float:
    """The discharge current (A, > 0) an applied setpoint asked for, 0 for anything else."""
    if data.get("direction") != "discharge" or data.get("mode") == "safe_idle":
        return 0.0
    return -float(data.get("current_a") or 0.0)


class Stack:
    """The five processes on one broker, each restartable."""

    def __init__(self) -> None:
        self.broker = LocalBroker(extra_logins={"bench-watch": "admin", "bench-admin": "admin"})
        self.broker.start()
        self.work = Path(self.broker.root) / "bench"
        self.work.mkdir()
        bus = private_bus()
        quiet = {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_HEALTH_FILE": ""}
        self.specs = {
            "sim": ("services.sim.bic", "sim", {**bus, **quiet}),
            "gateway": (
                "services.bic_gateway",
                "bic-gateway",
                {**bus, **quiet, "CANBRIDGE_STATE_FILE": str(self.work / "gateway.json")},
            ),
            "meter": (
                "services.sim.meter",
                "sim-meter",
                {**quiet, "CANBRIDGE_SOURCE": "constant", "CANBRIDGE_BASE_W": str(HOUSE_W)},
            ),
            "controller": ("services.charge_controller", "charge-controller", quiet),
        }
        self.procs: dict[str, subprocess.Popen] = {}
        for name in self.specs:
            self.start(name)

    def start(self, name: str) -> float:
        """(Re)start one process; its start time."""
        module, user, env = self.specs[name]
        env = {"CANBRIDGE_RUNTIME_STATE_FILE": str(self.work / "controller-runtime.json"), **env}
        started = time.monotonic()
        self.procs[name] = start(module, user, self.broker, env, self.work / f"{name}.log")
        return started

    def kill(self, name: str) -> None:
        self.procs[name].kill()
        self.procs[name].wait(10)

    def close(self, keep: bool = False) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.broker.stop()
        if keep:
            print(f"logs kept in {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.broker.root, ignore_errors=True)


def extra_load(broker: LocalBroker, watts: float) -> None:
    """The meter simulator's extra load (``sim/meter/set/load_w``, not retained)."""
    admin, _seen, _cond = connect(broker, "bench-admin")
    try:
        publish_checked(admin, "sim/meter/set/load_w", str(watts))
    finally:
        admin.loop_stop()
        admin.disconnect()


def regulated_current(stack: Stack) -> float:
    """Wait until the battery covers the house (AC power within 60 W of it) and the gateway has
    applied a discharge since; that discharge current (A)."""
    watcher = Watcher(stack.broker, "bench-watch", (APPLIED, STATE))
    try:
        since = time.monotonic()
        near = lambda d: abs(d.get("ac_power", 0) + HOUSE_W) < 60.0  # noqa: E731
        if watcher.wait(STATE, near, since, 120.0) is None:
            raise RuntimeError(f"the battery never covered the house; logs in {stack.work}")
        applied = watcher.wait(APPLIED, lambda d: discharge_a(d) > 0, since, 30.0)
        if applied is None:
            raise RuntimeError(f"no discharge setpoint applied; logs in {stack.work}")
        return discharge_a(applied[1])
    finally:
        watcher.close()


def one_round(stack: Stack, kind: str, info_back: list[float | None]) -> float | None:
    """Restart ``kind``; seconds until regulation resumed (None: not within 30 s). After a
    broker restart, also when the unit's retained ``info`` was there again (``info_back``)."""
    current = regulated_current(stack)
    if kind == "controller":
        watcher = Watcher(stack.broker, "bench-watch", (APPLIED,))
        stack.kill(kind)  # its will idles the battery first
        watcher.wait(APPLIED, lambda d: d.get("mode") == "safe_idle", time.monotonic(), 30)
        back = stack.start(kind)
        enough = 0.5 * current  # the law's first write after an idle covers most of it
    else:
        if kind == "broker":
            stack.broker.crash()
            stack.broker.start()
            back = time.monotonic()
            watcher = Watcher(stack.broker, "bench-watch", (APPLIED, METER, INFO), (INFO,))
            ready, what = METER, "the meter simulator"  # commands are not retained
        else:  # SIGKILL: the unit keeps its last setpoint, so a load step tells
            watcher = Watcher(stack.broker, "bench-watch", (APPLIED, AVAILABILITY))
            stack.kill(kind)
            back = stack.start(kind)
            ready, what = AVAILABILITY, "the gateway"
        if watcher.wait(ready, lambda d: d.get("text", "online") == "online", back, 30) is None:
            raise RuntimeError(f"{what} did not come back; logs in {stack.work}")
        extra_load(stack.broker, EXTRA_W)
        enough = current + 5.0  # ~16 A more are needed: the law's next write is a big part
    try:
        done = watcher.wait(APPLIED, lambda d: discharge_a(d) >= enough, back, 30.0)
        if kind == "broker":  # published once at start: back only by the gateway's re-assert
            info = watcher.wait(INFO, lambda d: "model" in d, back, 30.0)
            info_back.append(None if info is None else info[0] - back)
        return None if done is None else done[0] - back
    finally:
        watcher.close()
        if kind != "controller":
            extra_load(stack.broker, 0.0)  # the next round starts from the house load


def summary(samples: list[float | None]) -> dict:
    done = [s for s in samples if s is not None]
    return {
        "rounds": len(samples),
        "not_within_30_s": len(samples) - len(done),
        "median_s": round(statistics.median(done), 2) if done else None,
        "max_s": round(max(done), 2) if done else None,
        "samples_s": [None if s is None else round(s, 2) for s in samples],
        "goal_s": GOAL_S,
        "goal_met": bool(done) and len(done) == len(samples) and max(done) < GOAL_S,
    }


def run(rounds: int, kinds: tuple[str, ...] = KINDS, keep: bool = False) -> dict:
    stack = Stack()
    samples: dict[str, list[float | None]] = {kind: [] for kind in kinds}
    info_back: list[float | None] = []
    try:
        for _ in range(rounds):
            for kind in kinds:
                samples[kind].append(one_round(stack, kind, info_back))
    finally:
        failed = any(s is None for got in [*samples.values(), info_back] for s in got)
        stack.close(keep=keep or failed)
    return {
        "setup": {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "house_w": HOUSE_W,
            "broker_step_w": EXTRA_W,
            "settings": "defaults (meter simulator at 1 s, gateway polls at 1 s)",
        },
        "results": {kind: summary(samples[kind]) for kind in kinds},
        **({"retained_info_after_broker_restart": summary(info_back)} if info_back else {}),
    }


def table(result: dict) -> str:
    rows = []
    results = dict(result["results"])
    if "retained_info_after_broker_restart" in result:
        results["broker (retained unit info)"] = result["retained_info_after_broker_restart"]
    for kind, r in results.items():
        verdict = "met" if r["goal_met"] else "NOT met"
        what = kind if "(" in kind else f"{kind} restart -> regulating"
        rows.append(
            (
                what,
                f"median {r['median_s']} s, max {r['max_s']} s over {r['rounds']} "
                f"(goal < {r['goal_s']:g} s: {verdict})",
            )
        )
    return format_rows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="restarts of each kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--keep", action="store_true", help="keep the logs (always on a miss)")
    args = parser.parse_args(argv)
    result = run(args.rounds, tuple(args.kinds), args.keep)
    write_result(RESULTS, result, table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
