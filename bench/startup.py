"""How long the stack takes from ``docker compose up -d`` to every container healthy.

Run from the repo root: ``python -m bench.startup`` (``make bench-startup``; part of
``make bench``). It needs a Docker engine and Compose; without one it says so and exits 0, so
``make bench`` still runs the other benchmarks. The images are built first (not timed), the
stack is started from scratch (``down -v`` before and after), and the clock runs from the
``up -d`` command to the moment every long-running container reports ``healthy`` and every
one-shot container (broker-setup) has exited 0. Goal: 15 s. It runs the stack ``--runs``
times (default 3) and reports the median and the maximum, and for each container of the
slowest run when it started, when its first health check ran and when it was first healthy
(or, for a one-shot, exited): the stages that add up to the total. Writes
``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "startup.json"
GOAL_S = 15.0
TIMEOUT_S = 180.0


def compose_command() -> list[str] | None:
    """`docker compose` (v2) if it answers, else `docker-compose` (v1), else None."""
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    if shutil.which("docker"):
        v2 = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if v2.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def _seconds_after(stamp: str | None, t0: float) -> float | None:
    """Docker's RFC 3339 time (nanoseconds, 'Z') as seconds after the wall-clock time t0."""
    if not stamp or stamp.startswith("0001-"):  # Docker's zero time: never happened
        return None
    return round(datetime.fromisoformat(stamp).timestamp() - t0, 1)


def stages(info: dict, t0: float) -> dict:
    """One container's `docker inspect` as the seconds after t0 (the `up -d` command) at
    which it started, ran its first health check, was first healthy, or exited.

    Docker keeps the last 5 health checks only; the first check and first success are
    the earliest of those kept (exact for a start-up where the first checks pass).
    """
    state = info["State"]
    out: dict = {"started_s": _seconds_after(state.get("StartedAt"), t0)}
    log = (state.get("Health") or {}).get("Log") or []
    if log or state.get("Health"):
        out["first_check_s"] = _seconds_after(log[0]["Start"], t0) if log else None
        ok = [entry for entry in log if entry.get("ExitCode") == 0]
        out["healthy_s"] = _seconds_after(ok[0]["End"], t0) if ok else None
    elif state.get("Status") == "exited":
        out["exited_s"] = _seconds_after(state.get("FinishedAt"), t0)
    return out


def inspect_all(ids: list[str]) -> dict[str, dict]:
    """Container name -> its `docker inspect` object."""
    if not ids:
        return {}
    # one call for all (not Compose v1, a Python program): polls cost little and lag little
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
    return {info["Name"].lstrip("/"): info for info in json.loads(out.stdout or "[]")}


def container_state(info: dict) -> str:
    """'healthy', 'done' (one-shot exited 0), 'failed', or the health/run state."""
    state = info["State"]
    health = (state.get("Health") or {}).get("Status")
    if health is not None:
        return health
    if state["Status"] == "exited":
        return "done" if state["ExitCode"] == 0 else "failed"
    return state["Status"]


def measure(compose: list[str]) -> dict:
    subprocess.run([*compose, "down", "-v"], capture_output=True)
    t0 = time.time()
    started = time.monotonic()
    subprocess.run([*compose, "up", "-d"], check=True, capture_output=True)
    up_returned = time.monotonic() - started
    # every container exists once `up -d` returns
    ids = subprocess.run([*compose, "ps", "-q"], capture_output=True, text=True).stdout.split()
    first_seen: dict[str, float] = {}
    states: dict[str, str] = {}
    try:
        while time.monotonic() - started < TIMEOUT_S:
            states = {name: container_state(i) for name, i in inspect_all(ids).items()}
            now = time.monotonic() - started
            for name, state in states.items():
                if state in ("healthy", "done"):
                    first_seen.setdefault(name, round(now, 1))
            if states and all(s in ("healthy", "done") for s in states.values()):
                break
            if any(s in ("unhealthy", "failed") for s in states.values()):
                break
            time.sleep(0.5)
        total = time.monotonic() - started
        timeline = {name: stages(info, t0) for name, info in sorted(inspect_all(ids).items())}
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True)
    healthy = bool(states) and all(s in ("healthy", "done") for s in states.values())
    return {
        "seconds_to_healthy": round(total, 1) if healthy else None,
        "up_command_s": round(up_returned, 1),
        "containers": {name: first_seen.get(name) for name in sorted(states)},
        "stages": timeline,
        "final_states": states,
    }


def summarise(runs: list[dict]) -> dict:
    """The runs' median and maximum; a run that never got healthy makes both None."""
    times = [r["seconds_to_healthy"] for r in runs]
    done = None not in times and bool(times)
    slowest = max(runs, key=lambda r: r["seconds_to_healthy"] or float("inf"))
    return {
        "runs": len(runs),
        "seconds_to_healthy_median": round(statistics.median(times), 1) if done else None,
        "seconds_to_healthy_max": max(times) if done else None,
        "seconds_to_healthy_each": times,
        "goal_s": GOAL_S,
        "goal_met": done and max(times) <= GOAL_S,
        "slowest_run": slowest,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="start-ups to measure (default 3)")
    args = parser.parse_args(argv)
    compose = compose_command()
    if compose is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        print("no Docker engine reachable: stack start-up not measured")
        return 0
    # the images are built once, untimed
    subprocess.run([*compose, "build"], check=True, capture_output=True)
    runs = []
    for i in range(max(1, args.runs)):
        runs.append(measure(compose))
        print(f"run {i + 1}: {runs[-1]['seconds_to_healthy']} s")
    result = summarise(runs)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("slowest run, seconds after `up -d`:  started  first check  healthy/exited")
    for name, st in result["slowest_run"]["stages"].items():
        done = st.get("healthy_s", st.get("exited_s"))
        print(f"  {name:<32} {st['started_s']!s:>7}  {st.get('first_check_s', '-')!s:>11}  {done}")
    median, worst = result["seconds_to_healthy_median"], result["seconds_to_healthy_max"]
    verdict = "met" if result["goal_met"] else "NOT MET"
    print(
        f"docker compose up -> all healthy: median {median} s, max {worst} s "
        f"(goal {GOAL_S:g} s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
