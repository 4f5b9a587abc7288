"""wican-status: ask each car for its values while its WiCAN adapter is online.

MQTT wiring only; the decisions are `scheduler.PollScheduler`. Status messages and
wican-soc's state messages update the schedulers (network thread); one worker thread
sends the requests when they fall due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from services.wican_soc.vehicles import VehicleConfig
from services.wican_status.scheduler import PollScheduler, PollTiming
from services.wican_status.settings import WicanStatusSettings
from shared.contract.status import ONLINE, parse_status
from shared.contract.topics import (
    STATUS_FILTERS,
    device_of,
    tx_topic,
    vehicle_of_state,
    vehicle_state_filter,
)
from shared.payload_limits import PayloadRejected
from shared.runtime import ServiceRuntime
from shared.wican_payload import CanFrame, tx_payload

IDLE_WAIT_S = 5.0


def request_frames(settings: WicanStatusSettings, vehicle: VehicleConfig) -> list[CanFrame]:
    """The profile's init frames, then its request as an ISO-TP single frame."""
    profile = settings.profile_of(vehicle)
    frames = [CanFrame(f.id, f.extended, f.data) for f in profile.init_frames]
    frames.append(CanFrame(profile.request_id, profile.extended, profile.request_frame()))
    return frames


class WicanStatus:
    def __init__(self, runtime: ServiceRuntime, clock: Callable[[], float] = time.monotonic):
        settings = runtime.settings
        assert isinstance(settings, WicanStatusSettings)
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self.by_device = {v.device_id: v for v in settings.polled_vehicles}
        self.by_name = {v.name: v for v in settings.polled_vehicles}
        self.schedulers = {
            v.name: PollScheduler(
                PollTiming(
                    v.poll_interval_s,
                    settings.answer_timeout_s,
                    settings.retry_initial_s,
                    settings.retry_max_s,
                    settings.min_gap_s,
                )
            )
            for v in settings.polled_vehicles
        }
        self.requests = {
            v.name: tx_payload(request_frames(settings, v)) for v in settings.polled_vehicles
        }
        self._cond = threading.Condition()
        self._stop = False
        self._worker = threading.Thread(target=self._run, name="poll-scheduler", daemon=True)

    def setup(self, runtime: ServiceRuntime) -> Callable[[], None]:
        for topic_filter in STATUS_FILTERS:
            runtime.client.subscribe(topic_filter, self.on_status)
        runtime.client.subscribe(vehicle_state_filter(self.settings.base_topic), self.on_state)
        for vehicle in self.settings.vehicles:
            if vehicle.source == "autopid":
                runtime.log.info("vehicle_not_polled", vehicle=vehicle.name, reason="autopid")
        if not self.by_name:
            runtime.log.warning("no_vehicles_configured", hint="add vehicles to wican-status")
        for vehicle in self.by_name.values():
            runtime.log.info(
                "vehicle_configured",
                vehicle=vehicle.name,
                device_id=vehicle.device_id,
                profile=vehicle.profile,
                poll_interval_s=vehicle.poll_interval_s,
            )
        self._worker.start()
        return self.stop

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._worker.is_alive():
            self._worker.join(timeout=2)

    # --- MQTT handlers (network thread) -----------------------------------------------
    def on_status(self, msg: mqtt.MQTTMessage) -> None:
        vehicle = self.by_device.get(device_of(msg.topic) or "")
        if vehicle is None:
            return
        state = parse_status(msg.payload)
        if state is None:  # logged once per cause, then counted (a flood costs one line)
            problem = PayloadRejected("unknown_status", f"{vehicle.name}: not online/offline")
            self.runtime.client.note_rejected("adapter status", msg, problem)
            return
        self.runtime.log.info(
            "adapter_status", vehicle=vehicle.name, status=state, retained=msg.retain
        )
        with self._cond:
            self.schedulers[vehicle.name].set_online(state == ONLINE, self.clock())
            self._cond.notify_all()

    def on_state(self, msg: mqtt.MQTTMessage) -> None:
        if msg.retain or not msg.payload:
            return  # a retained state is an old answer, not one to the current request
        name = vehicle_of_state(msg.topic)
        if name not in self.schedulers:
            return
        with self._cond:
            self.schedulers[name].on_answer(self.clock())
            self._cond.notify_all()
        self.runtime.heartbeat.mark_activity()

    # --- worker ----------------------------------------------------------------------
    def _run(self) -> None:
        with self._cond:
            while not self._stop:
                now = self.clock()
                due = [name for name, s in self.schedulers.items() if s.poll(now)]
                waits = [s.next_event_in(now) for s in self.schedulers.values()]
                self._cond.release()
                try:
                    for name in due:
                        self._send(name)
                finally:
                    self._cond.acquire()
                if due:
                    continue  # re-evaluate: the sends took time
                pending = [w for w in waits if w is not None]
                self._cond.wait(min(pending, default=IDLE_WAIT_S))

    def _send(self, name: str) -> None:
        vehicle = self.by_name[name]
        scheduler = self.schedulers[name]
        self.runtime.client.publish(tx_topic(vehicle.device_id), self.requests[name], qos=0)
        self.runtime.log.info(
            "request_sent",
            vehicle=name,
            attempt=scheduler.failures + 1,
            request=self.settings.profile_of(vehicle).request.hex(" "),
        )
