"""MQTT side of the meter simulator: samples on a period, publishes after a latency.

Commands (user ``sim``, not retained): ``sim/meter/set/load_w`` (extra load in W, a step
load for tests and demos), ``sim/meter/set/pause`` (``true`` = stop publishing: meter loss).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import paho.mqtt.client as mqtt

from services.charge_controller.meter_input import extract_value, parse_number
from services.sim.meter.household import Household
from services.sim.meter.payloads import render
from services.sim.meter.settings import MeterSimSettings
from shared.runtime import ServiceRuntime

COMMANDS = "sim/meter/set/"


class MeterSimulator:
    def __init__(self, runtime: ServiceRuntime, settings: MeterSimSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.client = runtime.client
        self.log = runtime.log
        self.household = Household(
            settings.source,
            settings.trace_dir,
            settings.load_scale,
            settings.pv_scale,
            settings.base_w,
            settings.step_w,
            settings.step_period_s,
        )
        self.extra_load_w = 0.0
        self.paused = False
        self.bic_w: float | None = None
        self.bic_at: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meter", daemon=True)
        self._t0 = time.monotonic()

    def setup(self) -> Callable[[], None]:
        bic_topic = self.settings.resolved_bic_topic()
        if bic_topic:
            self.client.subscribe(bic_topic, self._on_bic, qos=0)
        self.client.subscribe(COMMANDS + "#", self._on_command, qos=1)
        self._thread.start()
        self.log.info(
            "meter_sim_configured",
            topic=self.settings.topic,
            format=self.settings.format,
            period_s=self.settings.period_s,
            source=self.settings.source,
            time_scale=self.settings.time_scale,
        )
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def _on_bic(self, msg: mqtt.MQTTMessage) -> None:
        value = extract_value(bytes(msg.payload), self.settings.bic_json_path)
        if value is not None:
            with self._lock:
                self.bic_w, self.bic_at = value, time.monotonic()

    def _on_command(self, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return
        name = msg.topic[len(COMMANDS) :]
        text = msg.payload.decode("utf-8", "replace").strip().lower()
        with self._lock:
            if name == "load_w" and (value := parse_number(text)) is not None:
                self.extra_load_w = value
            elif name == "pause" and text in ("true", "false", "1", "0", "on", "off"):
                self.paused = text in ("true", "1", "on")
            else:
                self.log.warning("meter_sim_bad_command", topic=msg.topic, payload=text[:80])
                return
        self.log.info("meter_sim_command", command=name, value=text)

    def sim_time(self, now: float) -> float:
        return self.settings.start_s + (now - self._t0) * self.settings.time_scale

    def grid_w(self, now: float) -> float:
        with self._lock:
            bic, at = self.bic_w, self.bic_at
            if bic is None or at is None or now - at > self.settings.bic_max_age_s:
                bic = 0.0
            extra = self.extra_load_w
        return self.household.net_w(self.sim_time(now)) + extra + bic

    def _run(self) -> None:
        s = self.settings
        self.client.wait_connected()
        in_flight: deque[tuple[float, bytes]] = deque()
        next_sample = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_sample:
                next_sample += s.period_s
                if next_sample < now:  # fell behind (suspend): don't burst
                    next_sample = now + s.period_s
                with self._lock:
                    paused = self.paused
                if not paused:
                    in_flight.append((now + s.latency_s, render(s.format, self.grid_w(now))))
            while in_flight and in_flight[0][0] <= now:
                self.client.publish(s.topic, in_flight.popleft()[1], qos=0)
                self.runtime.heartbeat.mark_activity()
            wake = min(next_sample, in_flight[0][0] if in_flight else next_sample)
            self._stop.wait(max(0.0, wake - time.monotonic()))
