"""Render the project's mosquitto.conf and ACL for a given place and port."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = PROJECT_DIR / "mosquitto"
CONF_TEMPLATE = MOSQUITTO_DIR / "mosquitto.conf"
ACL_TEMPLATE = MOSQUITTO_DIR / "acl.template"


def render_acl(base_topic: str, template: str | None = None) -> str:
    text = template if template is not None else ACL_TEMPLATE.read_text()
    return text.replace("@BASE@", base_topic)


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
