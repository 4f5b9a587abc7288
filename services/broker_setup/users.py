"""The broker's users, as data. Each has a block in mosquitto/acl.template.

The broker binds a client's id to its login (`use_username_as_clientid`), so a login
holds at most one connection: every program gets its own. Extra logins for more
programs of the same kind (a second WiCAN, evcc next to a dashboard) are named in
`CANBRIDGE_EXTRA_LOGINS` and get the rights of the user they copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: user -> what it is for (README "Security" and docs/security.md list the same).
USERS: dict[str, str] = {
    "admin": "you, MQTT Explorer, scripts: read and write everything",
    "health": "the broker's healthcheck: $SYS only",
    "api": "health & config service",
    "wican-status": "asks cars for their SoC",
    "wican-soc": "decodes the answers, publishes vehicle values",
    "wican-record": "`python -m services.wican_soc record`: reads WiCAN answers",
    "bic-gateway": "owns the BIC-2200 CAN bus",
    "bic-gateway-watch": "the gateway's second connection: only the services' status",
    "bic-cli": "`python -m services.bic_gateway.cli`: commands through the gateway",
    "charge-controller": "turns grid power into setpoints",
    "consumer": "read-only: evcc, dashboards, anything that must not send commands",
    "homeassistant": "Home Assistant: reads state, sends only the commands of its controls",
    "wican": "a WiCAN adapter",
    "sim": "the BIC-2200 simulator (sim profile)",
    "sim-meter": "the grid meter simulator (sim profile)",
}

#: users a person configures elsewhere (printed by `show`)
HUMAN_USERS = ("admin", "consumer", "homeassistant", "wican")

#: secrets that are not broker users, generated the same way (the API's write token)
TOKENS = ("api-token",)

#: environment variable naming extra logins: "evcc=consumer, wican-van=wican"
EXTRA_LOGINS_ENV = "CANBRIDGE_EXTRA_LOGINS"

_LOGIN_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def parse_extra_logins(spec: str) -> dict[str, str]:
    """`"evcc=consumer, wican-van=wican"` -> {"evcc": "consumer", "wican-van": "wican"}.

    Each extra login copies the rights of an existing user. Raises ValueError naming
    the bad entry: an unknown user, a login that is already a user, a repeated login.
    """
    logins: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in re.split(r"[,\s]+", spec))):
        login, sep, role = entry.partition("=")
        if not sep or not login or not role:
            raise ValueError(f"{EXTRA_LOGINS_ENV}: {entry!r} is not <login>=<user>")
        if not _LOGIN_RE.match(login):
            raise ValueError(
                f"{EXTRA_LOGINS_ENV}: login {login!r} may only use letters, digits, '_', '.', '-'"
            )
        if role not in USERS:
            raise ValueError(
                f"{EXTRA_LOGINS_ENV}: {entry!r} copies unknown user {role!r} "
                f"(one of {', '.join(USERS)})"
            )
        if login in USERS or login in TOKENS or login in logins:
            raise ValueError(f"{EXTRA_LOGINS_ENV}: login {login!r} is already taken")
        logins[login] = role
    return logins


def all_logins(extra: Mapping[str, str]) -> list[str]:
    """Every login the broker knows: the users, then the extra logins."""
    return [*USERS, *extra]
