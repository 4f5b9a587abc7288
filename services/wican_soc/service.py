"""wican-soc: reassemble WiCAN `can/rx` replies, decode them, publish the vehicle values.

MQTT wiring only; the reply handling is `reader.VehicleReader`, the topics and payloads
are `publication`. Frames are handled on paho's network thread (decoding takes
microseconds), so the Flow Control leaves as soon as the First Frame is in. A small
thread polls the readers so a stalled transfer is dropped after the N_Cr timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as mqtt

from services.wican_soc.autopid import NotAutopid, decode_autopid
from services.wican_soc.discovery import autopid_device, node_id, vehicle_device
from services.wican_soc.publication import publications, units_of
from services.wican_soc.reader import Dropped, Outcome, Reading, SendFrame, VehicleReader
from services.wican_soc.settings import WicanSocSettings
from services.wican_soc.vehicles import VehicleConfig
from shared.contract.status import ONLINE, parse_status
from shared.contract.topics import (
    RX_FILTER,
    STATUS_FILTERS,
    device_of,
    rx_topic,
    tx_topic,
    wican_status_topic,
)
from shared.ha_discovery import DiscoveryPublisher
from shared.runtime import ServiceRuntime
from shared.wican_payload import parse_rx, tx_payload

POLL_TICK_S = 0.1


def local_now() -> datetime:
    """Wall-clock time with the local zone (UTC in the container)."""
    return datetime.now().astimezone()


class WicanSoc:
    """All configured vehicles, keyed by their adapter's device id."""

    def __init__(self, runtime: ServiceRuntime, clock: Callable[[], float] = time.monotonic):
        settings = runtime.settings
        assert isinstance(settings, WicanSocSettings)
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self.vehicles: dict[str, VehicleConfig] = {v.device_id: v for v in settings.vehicles}
        self.readers = {
            v.device_id: VehicleReader(settings.profile_of(v), settings.n_cr_timeout_s)
            for v in settings.polled_vehicles
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="isotp-poll", daemon=True)
        #: the status topic each adapter was last seen on (for HA availability)
        self.status_topics = {d: wican_status_topic(d) for d in self.vehicles}
        self.discovery: DiscoveryPublisher | None = None

    # --- lifecycle -------------------------------------------------------------------
    def setup(self, runtime: ServiceRuntime) -> Callable[[], None]:
        client = runtime.client
        client.subscribe(RX_FILTER, self.on_rx, qos=0)
        for vehicle in self.vehicles.values():
            if vehicle.source == "autopid":
                client.subscribe(vehicle.autopid_topic, self._autopid_handler(vehicle), qos=0)
        for topic_filter in STATUS_FILTERS:
            client.subscribe(topic_filter, self.on_status)
        if not self.vehicles:
            runtime.log.warning("no_vehicles_configured", hint="add vehicles to wican-soc")
        for vehicle in self.vehicles.values():
            runtime.log.info(
                "vehicle_configured",
                vehicle=vehicle.name,
                device_id=vehicle.device_id,
                source=vehicle.source,
                profile=vehicle.profile or None,
                autopid_topic=vehicle.autopid_topic if vehicle.source == "autopid" else None,
                soc_topic=vehicle.soc_topic or None,
            )
        self.discovery = DiscoveryPublisher.from_settings(client, self.settings.homeassistant)
        for vehicle in self.vehicles.values():
            self._announce(vehicle)
        self._poller.start()
        return self.stop

    def _announce(self, vehicle: VehicleConfig) -> None:
        """(Re)register the car's HA device; publishes at once when connected."""
        assert self.discovery is not None
        base = self.settings.base_topic
        topic = self.status_topics[vehicle.device_id]
        if vehicle.source == "autopid":
            self.discovery.register(
                node_id(base, vehicle), lambda: autopid_device(base, vehicle, topic)
            )
            return
        profile = self.settings.profile_of(vehicle)
        self.discovery.register(
            node_id(base, vehicle), lambda: vehicle_device(base, vehicle, profile, topic)
        )

    def stop(self) -> None:
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join(timeout=2)

    # --- MQTT handlers (network thread) -----------------------------------------------
    def on_rx(self, msg: mqtt.MQTTMessage) -> None:
        device = device_of(msg.topic)
        reader = self.readers.get(device or "")
        if device is None or reader is None:
            return
        try:
            frames = parse_rx(msg.payload)
        except ValueError as exc:
            self.runtime.log.warning("bad_rx_dropped", device_id=device, reason=str(exc))
            return
        with self._lock:
            outcomes = reader.feed(frames, self.clock())
        self._handle(self.vehicles[device], outcomes)

    def _autopid_handler(self, vehicle: VehicleConfig) -> Callable[[mqtt.MQTTMessage], None]:
        def on_autopid(msg: mqtt.MQTTMessage) -> None:
            self.on_autopid(vehicle, msg)

        return on_autopid

    def on_autopid(self, vehicle: VehicleConfig, msg: mqtt.MQTTMessage) -> None:
        """Values the adapter decoded itself; a retained (old, undated) one is not republished."""
        assert vehicle.autopid is not None
        log = self.runtime.log.bind(vehicle=vehicle.name, topic=msg.topic)
        try:
            result = decode_autopid(msg.payload, vehicle.autopid)
        except NotAutopid as exc:
            if msg.topic != rx_topic(vehicle.device_id):  # raw frames there are no news
                log.warning("autopid_message_skipped", reason=str(exc))
            return
        if msg.retain:
            log.info("autopid_retained_ignored", hint="stale: the adapter sends no time")
            return
        for rejected in result.rejected:
            log.warning("value_rejected", value=rejected.name, reason=rejected.reason)
        if result.soc is None:
            log.debug("autopid_without_soc", values=sorted(result.values))
            return
        units = {name: vehicle.autopid.unit_of(name) for name in result.values}
        self._send(vehicle, units, result.values, log)

    def on_status(self, msg: mqtt.MQTTMessage) -> None:
        device = device_of(msg.topic)
        if device not in self.vehicles:
            return
        state = parse_status(msg.payload)
        if state == ONLINE and msg.topic != self.status_topics[device] and self.discovery:
            self.status_topics[device] = msg.topic  # the adapter uses the other layout
            self._announce(self.vehicles[device])
        if state == "offline" and device in self.readers:
            with self._lock:
                self.readers[device].reset()
        self.runtime.log.info(
            "adapter_status", vehicle=self.vehicles[device].name, status=state, retained=msg.retain
        )

    # --- the work --------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.wait(POLL_TICK_S):
            for device, reader in self.readers.items():
                with self._lock:
                    outcomes = reader.poll(self.clock())
                self._handle(self.vehicles[device], outcomes)

    def _handle(self, vehicle: VehicleConfig, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        log = self.runtime.log.bind(vehicle=vehicle.name)
        for outcome in outcomes:
            if isinstance(outcome, SendFrame):
                payload = tx_payload([outcome.frame])
                self.runtime.client.publish(tx_topic(vehicle.device_id), payload, qos=0)
            elif isinstance(outcome, Dropped):
                log.warning("transfer_dropped", reason=outcome.reason)
            elif isinstance(outcome, Reading):
                self._publish(vehicle, outcome, log)

    def _publish(self, vehicle: VehicleConfig, reading: Reading, log) -> None:
        result = reading.result
        for rejected in result.rejected:
            log.warning("value_rejected", value=rejected.name, reason=rejected.reason)
        if result.response_pending:
            log.info("response_pending", hint="the ECU answers later (NRC 0x78)")
            return
        if result.soc is None:
            log.warning("reply_not_published", payload=reading.payload[:16].hex(" "))
            return
        units = units_of(self.settings.profile_of(vehicle))
        self._send(vehicle, units, result.values, log)

    def _send(self, vehicle: VehicleConfig, units: dict[str, str], values: dict, log) -> None:
        for out in publications(self.settings.base_topic, vehicle, units, values, local_now()):
            self.runtime.client.publish(
                out.topic, out.payload, qos=1, retain=out.retain, expiry_s=out.expiry_s
            )
        self.runtime.heartbeat.mark_activity()
        log.info("vehicle_values", **{k: round(v, 4) for k, v in values.items()})
