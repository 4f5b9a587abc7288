"""The heartbeat every service publishes on `<base>/<service>/heartbeat`.

Payload (JSON, retained, expires after 3 intervals: a subscriber that starts later, like the
api, gets the latest beat at once instead of waiting up to an interval for the next one; the
beat's age is then 3 intervals minus the remaining expiry, see ``retained_age_s``): the
contract's ``shared.contract.payloads.Heartbeat``; `last_error` is the latest error-level log
event `{time, event, reason}` or null. `problem` is null while the service can do its job, else
why it cannot (e.g. its CAN interface is missing): the api then reports it failing with that
reason, and so does the container healthcheck (the health file carries it too). Services call
`set_problem()`. `rejected_payloads` counts the inputs the service refused since start.
`last_activity` is the ISO time the service last did its job (a decoded SoC,
a CAN answer, a setpoint); services call `mark_activity()` for that.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from shared import TOPIC_API_VERSION, __version__
from shared.atomic_file import write_atomic
from shared.contract import payloads
from shared.contract.topics import heartbeat_topic
from shared.logging_setup import LastError
from shared.mqtt_client import MqttClient


def expiry_s(interval_s: float) -> int:
    """A heartbeat's MQTT message expiry: 3 intervals, in whole seconds (at least 1)."""
    return max(1, round(3 * interval_s))


def retained_age_s(interval_s: object, remaining_expiry_s: object) -> float:
    """How old a retained heartbeat is: it was published with ``expiry_s(interval)``, and the
    broker hands it on with what is left of that. 0 when either number is missing or odd."""
    if not isinstance(interval_s, int | float) or not isinstance(remaining_expiry_s, int):
        return 0.0
    published_with = expiry_s(interval_s)
    return float(min(max(0, published_with - remaining_expiry_s), published_with))


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Heartbeat:
    def __init__(
        self, client: MqttClient, interval_s: float, health_file: Path | None = None
    ) -> None:
        self._client = client
        self.health_file = health_file
        self.interval_s = interval_s
        self.topic = heartbeat_topic(client.base, client.service)
        self._started = time.monotonic()
        self._last_activity: str | None = None
        self.problem: str | None = None
        self._stop = threading.Event()
        self._beat_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def mark_activity(self) -> None:
        self._last_activity = iso_now()

    def set_problem(self, reason: str | None) -> None:
        """Why the service cannot do its job (None: it can); published with the next beat and
        at once when it changes (when connected)."""
        changed = reason != self.problem
        self.problem = reason
        if changed and self._client.connected.is_set():
            self.beat()

    def payload(self) -> payloads.Heartbeat:
        return payloads.Heartbeat(
            service=self._client.service,
            version=__version__,
            topic_api=TOPIC_API_VERSION,
            time=iso_now(),
            uptime_s=round(time.monotonic() - self._started, 1),
            interval_s=self.interval_s,
            last_activity=self._last_activity,
            last_error=LastError.value,
            problem=self.problem,
            # payloads refused by shared.payload_limits since start (docs/input-limits.md)
            rejected_payloads=self._client.rejected_total(),
        )

    def beat(self) -> None:
        expiry = expiry_s(self.interval_s)
        with self._beat_lock:  # the periodic beat and set_problem's: never interleaved
            payload = self.payload()
            # the file first: whoever sees the beat on MQTT may run the container check at once
            if self.health_file is not None:
                touch(self.health_file, self.interval_s, payload.problem)
            # python mode: the values as they are, so the client's strict JSON encoding still
            # refuses (logs, does not send) a value that is not JSON, as it did for the dict
            self._client.publish_json(
                self.topic, payload.model_dump(), qos=0, retain=True, expiry_s=expiry
            )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        # First beat right after connecting, then every interval.
        while not self._stop.is_set():
            if self._client.wait_connected(timeout=0.5):
                self.beat()
                self._stop.wait(self.interval_s)


def touch(path: Path, interval_s: float, problem: str | None = None) -> None:
    """Rewrite the health file: its mtime is the last beat, its first line the beat interval,
    a second line (if any) the service's problem.

    The container healthcheck reads all three, so it judges the service by the interval the
    service really uses (which may come from the service's own config section).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"{interval_s}\n" + ("" if problem is None else " ".join(problem.split()) + "\n")
        write_atomic(path, text)
    except OSError:
        pass  # a read-only or missing /tmp must not stop the service; the check will say so
