"""The controller without a grid meter: it says so and never sends a setpoint.

The shipped config/canbridge.yaml has ``meter: null`` until the user names their meter, so a
fresh stack does not drive a battery from a meter that is not there. The retained state
replaces whatever an earlier, configured run left on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contract.payloads import ControllerUnconfigured
from shared.heartbeat import iso_now
from shared.runtime import ServiceRuntime

REASON = "no grid meter configured (charge-controller.meter is null)"
DOCS = "charge-controller.md#configuration"


def state_payload() -> dict[str, Any]:
    return ControllerUnconfigured(
        time=iso_now(), configured=False, reason=REASON, docs=DOCS
    ).model_dump()


def setup_unconfigured(runtime: ServiceRuntime, state_topic: str) -> Callable[[], None]:
    """Publish the retained "not configured" state on every connect; nothing else."""
    client = runtime.client
    client.add_connect_hook(
        lambda: client.publish_json(state_topic, state_payload(), qos=1, retain=True)
    )
    runtime.log.warning("controller_not_configured", reason=REASON, docs=f"docs/{DOCS}")
    return lambda: None
