"""`python -m services.bic_gateway`: the only process on the BIC-2200 CAN bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from shared.cli_help import parse_command_line
from shared.ha_discovery import DiscoveryPublisher
from shared.log_reminder import Reminder
from shared.payload_limits import COMMAND_LIMITS, SMALL_LIMITS
from shared.runtime import ServiceRuntime, build_runtime, run_service
from shared.settings import load_settings

from .can_bus import open_bus
from .discovery import announcer
from .families import RESPONSE_BASES
from .gateway import Gateway
from .ledger_store import StateStore
from .pacing import Pacer
from .settings import BicGatewaySettings
from .topics import set_filter
from .transport import CanTransport

RETRY_BUS_S = 5.0


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

        def dispatch(name: str) -> Callable[[mqtt.MQTTMessage], None]:
            def handle(msg: mqtt.MQTTMessage) -> None:
                with lock:
                    if not ready.is_set():
                        if name == "controller_status":
                            early[:] = [msg]  # nothing to idle yet: only the latest matters
                        elif msg.retain:
                            rt.log.warning("retained_command_ignored", topic=msg.topic)
                        else:
                            reason, now = "CAN bus not open yet", time.monotonic()
                            not_open.log(rt.log.warning, "command_dropped", reason, now,
                                         topic=msg.topic)  # fmt: skip
                        return
                getattr(holder["gateway"], f"on_{name}")(msg)

            return handle

        # subscribed before connecting, so no message can slip past the first subscription
        rt.client.subscribe(
            set_filter(settings.base_topic), dispatch("set"), max_bytes=COMMAND_LIMITS.max_bytes
        )
        discovery = DiscoveryPublisher.from_settings(rt.client, settings.homeassistant)
        if settings.controller_status_topic():
            rt.client.subscribe(
                settings.controller_status_topic(),
                dispatch("controller_status"),
                max_bytes=SMALL_LIMITS.max_bytes,
            )

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

        return stop

    run_service(runtime, setup)


if __name__ == "__main__":
    main()
