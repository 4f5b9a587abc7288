"""How long the stack takes from ``docker compose up -d`` to every container healthy.

Run from the repo root: ``python -m bench.startup`` (``make bench-startup``; part of
``make bench``). It needs a Docker engine and Compose; without one it says so and exits 0, so
``make bench`` still runs the other benchmarks. The images are built first (not timed), the
stack is started from scratch (``down -v`` before and after), and the clock runs from the
``up -d`` command to the moment every long-running container reports ``healthy`` and every
one-shot container (broker-setup) has exited 0. Goal: 15 s. Writes
``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
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


def container_states(compose: list[str]) -> dict[str, str]:
    """Service container name -> 'healthy', 'done' (one-shot exited 0), or its state."""
    ids = subprocess.run([*compose, "ps", "-q"], capture_output=True, text=True).stdout.split()
    states: dict[str, str] = {}
    for cid in ids:
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .}}", cid], capture_output=True, text=True
        )
        if out.returncode != 0:
            continue
        info = json.loads(out.stdout)
        state = info["State"]
        health = (state.get("Health") or {}).get("Status")
        if health is not None:
            states[info["Name"].lstrip("/")] = health
        elif state["Status"] == "exited":
            states[info["Name"].lstrip("/")] = "done" if state["ExitCode"] == 0 else "failed"
        else:
            states[info["Name"].lstrip("/")] = state["Status"]
    return states


def measure(compose: list[str]) -> dict:
    subprocess.run([*compose, "down", "-v"], capture_output=True)
    subprocess.run([*compose, "build"], check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run([*compose, "up", "-d"], check=True, capture_output=True)
    up_returned = time.monotonic() - started
    first_seen: dict[str, float] = {}
    states: dict[str, str] = {}
    try:
        while time.monotonic() - started < TIMEOUT_S:
            states = container_states(compose)
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
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True)
    healthy = bool(states) and all(s in ("healthy", "done") for s in states.values())
    return {
        "seconds_to_healthy": round(total, 1) if healthy else None,
        "up_command_s": round(up_returned, 1),
        "containers": {name: first_seen.get(name) for name in sorted(states)},
        "final_states": states,
        "goal_s": GOAL_S,
        "goal_met": healthy and total <= GOAL_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.parse_args(argv)
    compose = compose_command()
    if compose is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        print("no Docker engine reachable: stack start-up not measured")
        return 0
    result = measure(compose)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, seconds in result["containers"].items():
        print(f"  {name:<32} {seconds} s")
    took = result["seconds_to_healthy"]
    verdict = "met" if result["goal_met"] else "NOT MET"
    print(f"docker compose up -> all healthy: {took} s (goal {GOAL_S:g} s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
