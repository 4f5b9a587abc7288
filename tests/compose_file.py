"""compose.yaml as the tests see it: its services and their health-check commands, run
exactly as Docker runs them (Compose's `$$` turned into `$`, then `/bin/sh -c` or the
command's own shell)."""

from __future__ import annotations

import os
import subprocess

import yaml
from harness import PROJECT, TIMEOUT

COMPOSE = yaml.safe_load((PROJECT / "compose.yaml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]


def check_argv(service: str, replace: dict[str, str] | None = None) -> list[str]:
    """The argv Docker executes for `service`'s health check (CMD-SHELL runs /bin/sh -c).

    `replace` rewrites literal parts of the script (a port, a path) for a test's local copy
    of what the container has at that place; everything else is the text in compose.yaml.
    """
    test = SERVICES[service]["healthcheck"]["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, *args = test
    # Compose interpolates ${VAR} and turns $$ into $; our checks use $$ only
    args = [a.replace("$$", "$") for a in args]
    for old, new in (replace or {}).items():
        assert any(old in a for a in args), f"{old!r} is not in {service}'s health check"
        args = [a.replace(old, new) for a in args]
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", args[0]]
    assert kind == "CMD", kind
    return args


def run_check(
    service: str, env: dict[str, str] | None = None, replace: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        check_argv(service, replace),
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
