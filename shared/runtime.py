"""Start-up and shutdown shared by the long-running services.

`ServiceRuntime` bundles settings, logger, MQTT client and heartbeat.
`run_service` wires SIGTERM/SIGINT to a clean shutdown: the service's own
stop hook, then `offline` on the status topic, then disconnect.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import structlog

from shared import __version__
from shared.contract.topics import config_topic
from shared.heartbeat import Heartbeat
from shared.logging_setup import configure_logging
from shared.mqtt_client import MqttClient
from shared.settings import ConfigError, ServiceSettings


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    client: MqttClient
    heartbeat: Heartbeat
    log: structlog.stdlib.BoundLogger
    stop_event: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.client.start()
        self.heartbeat.start()

    def shutdown(self) -> None:
        self.heartbeat.stop()
        self.client.stop()


def build_runtime(name: str, settings: ServiceSettings) -> ServiceRuntime:
    """Configure logging and create (not start) the MQTT client and heartbeat."""
    configure_logging(name, settings.log_level, settings.log_format)
    log = structlog.get_logger(name)
    try:
        password = settings.mqtt.resolved_password()
    except ConfigError as exc:
        log.error("invalid_configuration", reason=str(exc))
        raise SystemExit(2) from exc
    cid = f"{settings.base_topic}-{name}" + (f"-{settings.instance}" if settings.instance else "")
    client = MqttClient(settings.mqtt, name, settings.base_topic, client_id=cid, password=password)
    # the effective configuration (secrets redacted), retained, for the API's GET /config
    config = config_topic(settings.base_topic, name)
    client.add_connect_hook(
        lambda: client.publish_json(config, settings.redacted(), qos=1, retain=True)
    )
    return ServiceRuntime(
        name,
        settings,
        client,
        Heartbeat(client, settings.heartbeat_interval_s, settings.health_file),
        log,
    )


def run_service(
    runtime: ServiceRuntime, setup: Callable[[ServiceRuntime], Callable[[], None]]
) -> None:
    """Run until SIGTERM/SIGINT. `setup` registers subscriptions and returns a stop hook."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        runtime.log.info("stop_requested", signal=signal.Signals(signum).name)
        runtime.stop_event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    on_stop = setup(runtime)
    runtime.log.info("service_starting", version=__version__)
    runtime.start()
    try:
        runtime.stop_event.wait()
    finally:
        on_stop()
        runtime.shutdown()
        runtime.log.info("service_stopped")
