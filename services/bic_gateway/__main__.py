"""`python -m services.bic_gateway`: the only process on the BIC-2200 CAN bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from shared.cli_help import parse_command_line
from shared.contract.retained import RetainedCommands
from shared.contract.topics import set_filter
from shared.ha_discovery import DiscoveryPublisher
from shared.log_reminder import Reminder
from shared.mqtt_client import MqttClient
from shared.payload_limits import COMMAND_LIMITS, SMALL_LIMITS
from shared.runtime import ServiceRuntime, build_runtime, run_service
from shared.settings import ConfigError, load_settings

from .can_bus import open_bus
from .discovery import announcer
from .families import RESPONSE_BASES
from .gateway import Gateway
from .ledger_store import StateStore
from .pacing import Pacer
from .settings import BicGatewaySettings
from .transport import CanTransport

RETRY_BUS_S = 5.0
#: the login of the gateway's second connection (``status_connection``)
WATCH_LOGIN = "bic-gateway-watch"


def open_transport(settings: BicGatewaySettings, runtime: ServiceRuntime) -> CanTransport | None:
    """The bus, retried until it opens (a USB adapter may appear late) or a stop is asked.

    Meanwhile the gateway reports itself failing with the reason (heartbeat `problem`: /health,
    status page, container healthcheck) and logs the cause once, then a reminder every 10 min."""
    timing = settings.timing
    can = settings.can
    where = f"CAN interface {can.interface} {can.resolved_channel()!r}"
    reminder = Reminder()
    while not runtime.stop_event.is_set():
        try:
            bus = open_bus(can, accept_base=RESPONSE_BASES)
        except Exception as exc:  # python-can raises OSError, CanError, ValueError...
            reason = f"{where} cannot be opened: {exc}"
            runtime.heartbeat.set_problem(reason)
            reminder.log(runtime.log.error, "can_bus_unavailable", reason, time.monotonic(),
                         retry_s=RETRY_BUS_S)  # fmt: skip
            runtime.stop_event.wait(RETRY_BUS_S)
            continue
        runtime.heartbeat.set_problem(None)
        reminder.resolved(runtime.log.info, "can_bus_recovered")
        runtime.log.info("can_bus_open", interface=can.interface, channel=can.resolved_channel())
        return CanTransport(
            bus,
            Pacer(timing.request_period_s, timing.response_margin_s),
            timeout_s=timing.response_timeout_s,
            retries=timing.retries,
        )
    return None


def status_connection(settings: BicGatewaySettings, runtime: ServiceRuntime) -> MqttClient:
    """The connection that carries the controller's status: a second one of its own if it can.

    The broker queues at most ``max_queued_messages`` for a client and then drops messages to it,
    whatever their topic. A command flood faster than the gateway's first connection takes in
    would make it drop the controller's ``offline`` too, and only the watchdog timeout would idle
    the unit. The second connection (login ``bic-gateway-watch``, which may read nothing but the
    services' status) has nothing else queued, so the ``offline`` always arrives.
    A login of your own choosing for the gateway keeps one connection (a second one with the same
    login would push the first off the broker): then a warning says what that costs."""
    log = runtime.log
    watch = settings.mqtt.tool_login("bic-gateway", WATCH_LOGIN)
    if watch.username != WATCH_LOGIN:
        log.warning(
            "controller_status_on_command_connection",
            reason=f"mqtt.username {settings.mqtt.username!r} is not the default: no second "
            "connection; a command flood that overflows the broker's queue for the gateway can "
            "delay the controller's offline until the watchdog timeout",
            docs="docs/bic2200.md#command-queue",
        )
        return runtime.client
    try:
        password = watch.resolved_password()
    except ConfigError as exc:
        log.error(
            "controller_status_on_command_connection",
            reason=f"no password for login {WATCH_LOGIN!r} ({exc}): run the broker set-up again "
            "(docker compose up runs it); meanwhile a command flood can delay the controller's "
            "offline until the watchdog timeout",
        )
        return runtime.client
    client_id = f"{settings.base_topic}-{WATCH_LOGIN}"
    return MqttClient(
        watch, "bic-gateway", settings.base_topic, client_id, password, availability=False
    )


def main() -> None:
    parse_command_line("python -m services.bic_gateway", __doc__, BicGatewaySettings)
    settings = load_settings(BicGatewaySettings)
    runtime = build_runtime("bic-gateway", settings)

    def setup(rt: ServiceRuntime):
        if not settings.units:
            rt.log.warning(
                "no_units_configured",
                reason="bic-gateway.units is empty: the CAN bus is left alone",
                docs="docs/bic2200.md#configuration-bic-gateway-in-configcanbridgeyaml",
            )
            return lambda: None
        store = StateStore(settings.state_file).load()
        ready = threading.Event()
        holder: dict[str, Gateway] = {}
        early: list[mqtt.MQTTMessage] = []  # the latest controller status (e.g. retained)
        lock = threading.Lock()
        not_open = Reminder()  # commands while the bus is not open: once, then every 10 min
        retained = RetainedCommands(rt.log.warning)  # before and after the bus opens

        def dispatch(
            handler: Callable[[Gateway, mqtt.MQTTMessage], None], *, status: bool = False
        ) -> Callable[[mqtt.MQTTMessage], None]:
            """``handler`` of the gateway once it runs; until then, the latest controller
            ``status`` is kept for it and commands are dropped."""

            def handle(msg: mqtt.MQTTMessage) -> None:
                with lock:
                    if not ready.is_set():
                        if status:
                            early[:] = [msg]  # nothing to idle yet: only the latest matters
                        elif retained.refuse(msg.topic, bool(msg.retain), time.monotonic()):
                            pass  # logged (nothing can answer on `error` before the bus is open)
                        else:
                            reason, now = "CAN bus not open yet", time.monotonic()
                            not_open.log(rt.log.warning, "command_dropped", reason, now,
                                         topic=msg.topic)  # fmt: skip
                        return
                handler(holder["gateway"], msg)

            return handle

        # a flood of commands gets a bounded share of the CPU (docs/bic2200.md#command-queue)
        rate = settings.max_command_rate_per_s
        rt.client.limit_intake(rate, burst=max(10.0, rate / 10))
        # subscribed before connecting, so no message can slip past the first subscription
        rt.client.subscribe(
            set_filter(settings.base_topic),
            dispatch(Gateway.on_set),
            max_bytes=COMMAND_LIMITS.max_bytes,
        )
        discovery = DiscoveryPublisher.from_settings(rt.client, settings.homeassistant)
        watch: MqttClient | None = None
        if settings.controller_status_topic():
            watch = status_connection(settings, rt)
            watch.subscribe(
                settings.controller_status_topic(),
                dispatch(Gateway.on_controller_status, status=True),
                max_bytes=SMALL_LIMITS.max_bytes,
            )
            if watch is rt.client:
                watch = None  # started and stopped with the service
            else:
                watch.start()

        def start_gateway() -> None:
            transport = open_transport(settings, rt)
            if transport is None:
                return
            gateway = Gateway(
                settings,
                rt.client,
                transport,
                store,
                on_activity=rt.heartbeat.mark_activity,
                on_identified=announcer(discovery, settings),
                on_problem=rt.heartbeat.set_problem,
                retained=retained,
            )
            gateway.start()
            with lock:
                holder["gateway"] = gateway
                for msg in early:
                    gateway.on_controller_status(msg)
                ready.set()

        starter = threading.Thread(target=start_gateway, name="bic-start", daemon=True)
        starter.start()

        def stop() -> None:
            starter.join(timeout=RETRY_BUS_S + 1)
            if "gateway" in holder:
                holder["gateway"].stop()
            if watch is not None:
                watch.stop()

        return stop

    run_service(runtime, setup)


if __name__ == "__main__":
    main()
