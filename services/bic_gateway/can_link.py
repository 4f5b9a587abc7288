"""`can_up` / `can_down`: the socketcan link on the gateway's host (``ip link``), local only.

Configuring a link needs CAP_NET_ADMIN (root on the host). The gateway container does not have
it and should not: bring the link up on the host (systemd-networkd, docs/bic2200.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess

BITRATE = 250_000
RESTART_MS = 100


def link_commands(channel: str, up: bool) -> list[list[str]]:
    if not up:
        return [["ip", "link", "set", channel, "down"]]
    return [
        ["ip", "link", "set", channel, "down"],
        [
            "ip",
            "link",
            "set",
            channel,
            "type",
            "can",
            "bitrate",
            str(BITRATE),
            "restart-ms",
            str(RESTART_MS),
        ],
        ["ip", "link", "set", channel, "up"],
    ]


def manage_link(interface: str, channel: str, up: bool) -> tuple[int, str]:
    """Run the commands when possible; else explain what to do. Returns (exit code, message)."""
    commands = link_commands(channel if interface == "socketcan" else "can0", up)
    shown = "\n".join("  sudo " + " ".join(c) for c in commands)
    if interface != "socketcan":
        return 1, (
            f"the configured CAN interface is {interface!r}, not socketcan: there is no link to "
            "manage (udp_multicast/virtual need none; slcan adapters are opened by python-can, "
            "or attach them on the host with `slcand -o -s5 -t hw <tty> can0` and then run:\n"
            f"{shown})"
        )
    if os.geteuid() != 0:
        return 1, f"configuring {channel} needs root (CAP_NET_ADMIN) on the host; run:\n{shown}"
    if shutil.which("ip") is None:
        return 1, f"`ip` (iproute2) is not installed; on the host run:\n{shown}"
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return done.returncode, f"{' '.join(command)} failed: {done.stderr.strip()}"
    state = f"up at {BITRATE} bit/s, restart-ms {RESTART_MS}" if up else "down"
    return 0, f"{channel} is {state}"
