"""CPU weight in compose.yaml: the safe idle's path outweighs everything else.

The controller's `offline` travels broker -> gateway -> CAN frame; under a flood on a busy
2-core host, the delay that remained above 100 ms lay in the broker's delivery and the
scheduler (docs/bic2200.md "Benchmark"). Both containers on that path get a larger
`cpu_shares` than any other, so contention from the rest of the stack cannot starve them.
"""

from __future__ import annotations

from compose_file import SERVICES

SAFE_IDLE_PATH = ("mosquitto", "bic-can-gateway")
DOCKER_DEFAULT_SHARES = 1024


def shares(service: str) -> int:
    return int(SERVICES[service].get("cpu_shares", DOCKER_DEFAULT_SHARES))


def test_broker_and_gateway_outweigh_every_other_container():
    lightest_on_path = min(shares(s) for s in SAFE_IDLE_PATH)
    others = {s: shares(s) for s in SERVICES if s not in SAFE_IDLE_PATH}
    assert others, "compose.yaml lists no other service"
    heavier = {s: w for s, w in others.items() if w >= lightest_on_path}
    assert not heavier, f"as heavy as the safe idle's path ({lightest_on_path}): {heavier}"
