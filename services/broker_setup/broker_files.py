"""Render the project's mosquitto.conf and ACL for a given place and port."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = PROJECT_DIR / "mosquitto"
CONF_TEMPLATE = MOSQUITTO_DIR / "mosquitto.conf"
ACL_TEMPLATE = MOSQUITTO_DIR / "acl.template"


def acl_blocks(text: str) -> dict[str, list[str]]:
    """user -> its `topic ...` lines, in the order of the ACL."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("user "):
            current = blocks.setdefault(line.split(None, 1)[1], [])
        elif line.startswith("topic ") and current is not None:
            current.append(line)
    return blocks


def render_acl(
    base_topic: str, template: str | None = None, extra: Mapping[str, str] | None = None
) -> str:
    """The ACL for `base_topic`; an extra login (login -> user) gets a copy of its user's block."""
    text = template if template is not None else ACL_TEMPLATE.read_text()
    blocks = acl_blocks(text)
    parts = [text.rstrip("\n")]
    for login, user in (extra or {}).items():
        if user not in blocks:
            raise ValueError(f"extra login {login!r}: the ACL has no user {user!r}")
        parts += ["", f"# extra login with the rights of {user}", f"user {login}", *blocks[user]]
    return ("\n".join(parts) + "\n").replace("@BASE@", base_topic)


def rewrite_conf(text: str, overrides: dict[str, str]) -> str:
    """Replace the value of each `key` line named in `overrides`; every other line stays.

    A key missing from the file is an error: the project config and the
    local runs must not drift apart silently.
    """
    seen = set()
    out = []
    for line in text.splitlines():
        key = line.split(" ", 1)[0]
        if key in overrides and not line.startswith("#"):
            out.append(f"{key} {overrides[key]}")
            seen.add(key)
        else:
            out.append(line)
    missing = set(overrides) - seen
    if missing:
        raise ValueError(f"mosquitto.conf has no line for {', '.join(sorted(missing))}")
    return "\n".join(out) + "\n"
