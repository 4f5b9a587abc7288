"""Container healthcheck for services without HTTP: `python -m shared.healthcheck`.

Healthy when the service's heartbeat file was rewritten within 3 heartbeat
intervals (the file holds the interval the service uses): the service is
running, connected to the broker and its heartbeat thread is alive; and the
file names no problem (its optional second line, e.g. a missing CAN interface).
Exit 0 healthy, 1 not (with the reason on stdout).

compose.yaml runs the same rules in /bin/sh (`x-heartbeat-check`), which costs no Python
start-up per check; this module is the reference the tests hold that shell text to, and
the way to ask by hand (`docker compose exec wican-soc python -m shared.healthcheck`).
"""

from __future__ import annotations

import time
from pathlib import Path

from shared.cli_help import parse_command_line
from shared.settings import ServiceSettings, load_settings


def check(path: Path, now: float | None = None) -> tuple[bool, str]:
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
        first, _, problem = path.read_text().partition("\n")
        interval_s = float(first)
    except FileNotFoundError:
        return False, f"{path} missing: not yet connected to the broker"
    except ValueError:
        return False, f"{path} does not hold a heartbeat interval"
    limit = 3 * interval_s
    if age > limit:
        return False, f"last heartbeat {age:.0f} s ago (limit {limit:.0f} s)"
    if problem.strip():
        return False, f"failing: {problem.strip()}"
    return True, f"last heartbeat {age:.0f} s ago"


def main() -> int:
    parse_command_line(
        "python -m shared.healthcheck",
        __doc__,
        extra="It reads health_file (CANBRIDGE_HEALTH_FILE) from the same environment and "
        "config file as the service it checks.",
    )
    # same env vars and config file as the service itself, so the path matches
    settings = load_settings(ServiceSettings)
    if settings.health_file is None:
        print("health_file is off (CANBRIDGE_HEALTH_FILE empty); nothing to check")
        return 1
    ok, reason = check(settings.health_file)
    print(reason)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
