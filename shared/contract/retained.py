"""What a service does with a retained message on a command topic: one policy. No I/O.

A command is published without retain; a retained one was left on the broker by someone else,
before this service subscribed, so it is stale by nature (a setpoint or a mode from an hour
ago). Every service that takes commands (the gateway's ``<base>/bic/<unit>/set/...``, the
controller's ``<base>/charge-controller/set/...``) therefore:

* ignores it: it never changes anything;
* says so: a warning ``retained_command_ignored`` with the topic, once per topic, then every
  ``reminder_s`` with ``repeated`` (how many since), so a stale retained command that comes back
  at every reconnect does not flood the log;
* answers it on the service's answer topic (the gateway's ``error``, the controller's
  ``command_result``) with ``REASON``, so the sender learns why nothing happened.

Clear such a topic with an empty retained message (``mosquitto_pub -r -n -t <topic>``).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.log_throttle import MessageThrottle

REASON = "retained command ignored (may be stale)"
EVENT = "retained_command_ignored"


class RetainedCommands:
    def __init__(self, warn: Callable[..., object], reminder_s: float = 600.0) -> None:
        self._warn = warn
        self._throttle = MessageThrottle(reminder_s)

    def refuse(self, topic: str, retained: bool, now: float) -> str | None:
        """None for a live command; for a retained one the reason to answer with (and the
        throttled warning is logged)."""
        if not retained:
            return None
        repeated = self._throttle.admit(topic, EVENT, now)
        if repeated is not None:
            self._warn(EVENT, topic=topic, reason=REASON, repeated=repeated)
        return REASON
