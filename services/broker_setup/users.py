"""The broker's users, as data. Each has a block in mosquitto/acl.template."""

from __future__ import annotations

#: user -> what it is for (README "Security" lists the same).
USERS: dict[str, str] = {
    "admin": "you, MQTT Explorer, scripts: read and write everything",
    "health": "the broker's healthcheck: $SYS only",
    "api": "health & config service",
    "wican-status": "asks cars for their SoC",
    "wican-soc": "decodes the answers, publishes vehicle values",
    "bic-gateway": "owns the BIC-2200 CAN bus",
    "charge-controller": "turns grid power into setpoints",
    "consumer": "read-only: evcc, dashboards, anything that must not send commands",
    "homeassistant": "Home Assistant: reads state, sends only the commands of its controls",
    "wican": "WiCAN adapters",
    "sim": "simulators of the sim profile",
}

#: users a person configures elsewhere (printed by `show`)
HUMAN_USERS = ("admin", "consumer", "homeassistant", "wican")

#: secrets that are not broker users, generated the same way (the API's write token)
TOKENS = ("api-token",)
