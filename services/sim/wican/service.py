"""The simulator's MQTT side: one WiCAN adapter per simulated car.

Each car's adapter has its own MQTT 3.1.1 connection (its own login), like a real one:
retained `{"status": "online"}` on connect, the same topic as retained last will
`offline`. Requests on `wican/<id>/can/tx` go to the car's ECU (an ISO-TP peer on
can-isotp, services/sim/wican/ecu.py) or to its recorded replies; what the car sends goes
out on `can/rx`. A worker thread per car does this (the paho thread never waits).
Commands: JSON on `sim/wican/<id>/set`, e.g. `{"ignition": false}` (the adapter sleeps
`sleep_after_s` later), `{"charging": true}` (wakes it), `{"awake": false}` (asleep now),
`{"soc": 42}`, `{"silent": true}`, `{"corrupt_transfers": 1}`, `{"frames_per_message": 3}`,
`{"noise_frames": 2}`.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
import structlog

from services.sim.wican.adapter import Breaker, Noise, batch
from services.sim.wican.car import CarState
from services.sim.wican.catalogue import CarModel, load_catalogue
from services.sim.wican.ecu import Ecu
from services.sim.wican.recorded import RecordedCar, load_cars
from services.sim.wican.settings import SimCar, SimWicanSettings
from shared.heartbeat import touch
from shared.settings import MqttSettings
from shared.wican_payload import CanFrame, parse_tx, tx_message

TICK_S = 0.2  # the worker looks at the sleep/wake cycle and ISO-TP timeouts this often
PCI_SINGLE, PCI_FIRST = 0x0, 0x1
NRC_OUT_OF_RANGE, NRC_NOT_SUPPORTED = 0x31, 0x11
#: the car's settings that are its state at start (commands change them later)
STATE_FROM_SETTINGS = (
    "soc", "soc_rate_per_h", "awake", "charging", "sleep_after_s", "offline_delay_s", "silent",
    "corrupt_transfers", "frames_per_message", "noise_frames",
)  # fmt: skip


def _no_delay(client, userdata, sock) -> None:
    """Send each frame at once (Nagle would hold a Consecutive Frame for the last ACK)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def command_topic(device_id: str) -> str:
    return f"sim/wican/{device_id}/set"


def status_topic(device_id: str, firmware_2024: bool = False) -> str:
    return f"wican/{device_id}/can/status" if firmware_2024 else f"wican/{device_id}/status"


def status_payload(online: bool) -> bytes:
    # the adapter's own spelling, with a space after the colon
    return b'{"status": "online"}' if online else b'{"status": "offline"}'


def reply_to(model: CarModel, request: bytes, functional: bool, soc: float) -> bytes | None:
    """The ECU's answer: the reply for its request, a negative response to another
    identifier of the same service or another service (physical requests only)."""
    if request == model.request:
        return model.reply_for(soc)[0]
    if functional or not request:
        return None  # ECUs stay silent on functional requests they do not know
    code = NRC_OUT_OF_RANGE if request[0] == model.request[0] else NRC_NOT_SUPPORTED
    return bytes([0x7F, request[0], code])


class CarAdapter:
    """One car with its WiCAN adapter on the broker."""

    def __init__(
        self,
        car: SimCar,
        mqtt_settings: MqttSettings,
        client_suffix: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = car
        self.mqtt_settings = mqtt_settings
        self.clock = clock
        now = clock()
        state = {name: getattr(car, name) for name in STATE_FROM_SETTINGS}
        self.car = CarState(**state, ignition=car.ignition and car.awake, since=now)
        self.car.track_power(now)
        self.log = structlog.get_logger("sim-wican").bind(device_id=car.device_id)
        self.model: CarModel | None = None
        self.peer: Ecu | RecordedCar
        if car.cars_file is not None:
            self.peer = RecordedCar(load_cars(car.cars_file), car.isotp.tuning())
        else:
            self.model = load_catalogue()[car.profile]
            self.peer = Ecu(self.model.addressing, self._answer, car.isotp.tuning())
        device = car.device_id
        self.status_topic = status_topic(device, car.firmware_2024_status)
        self.rx_topic = f"wican/{device}/can/rx"
        self.tx_topic = f"wican/{device}/can/tx"
        self.command_topic = command_topic(device)
        self.events: queue.Queue = queue.Queue()
        self.stop_event = threading.Event()
        self.connected = threading.Event()
        self._noise = Noise()
        self._breaker: Breaker | None = None
        self._hold_until = 0.0
        self._shown_online: bool | None = None
        self._started = now
        self.client = self._make_client(client_suffix)
        self.thread = threading.Thread(target=self._work, name=f"car-{device}", daemon=True)

    # --- MQTT ------------------------------------------------------------------------
    def _make_client(self, suffix: str) -> mqtt.Client:
        m = self.mqtt_settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"wican-sim-{self.settings.device_id}{suffix}",
            protocol=mqtt.MQTTv311,
        )
        client.username_pw_set(m.username or "wican", m.resolved_password())
        client.will_set(self.status_topic, status_payload(False), qos=1, retain=True)
        # paho says int, and takes float seconds as they are
        client.reconnect_delay_set(m.reconnect_min_s, m.reconnect_max_s)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = _no_delay
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.log.error("mqtt_connect_refused", reason=str(reason_code))
            return
        client.subscribe([(self.tx_topic, 0), (self.command_topic, 1)])
        self._shown_online = self.car.status_online(self.clock())
        client.publish(self.status_topic, status_payload(self._shown_online), qos=1, retain=True)
        self.connected.set()
        self.log.info("adapter_connected", awake=self.car.awake, status_topic=self.status_topic)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self.stop_event.is_set():
            self.log.warning("adapter_disconnected", reason=str(reason_code))

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.command_topic:
            if msg.retain:
                return  # a retained command is stale
            self.events.put(("set", msg.payload))
        elif msg.topic == self.tx_topic:
            self.events.put(("tx", msg.payload))

    def _publish_rx(self, frames: tuple[CanFrame, ...]) -> None:
        ts = int((self.clock() - self._started) * 1000) & 0xFFFFFFFF
        message = {"bus": "0", "type": "rx", "ts": ts, "frame": tx_message(frames)["frame"]}
        self.client.publish(self.rx_topic, json.dumps(message, separators=(",", ":")), qos=0)

    def _sync_status(self, now: float) -> None:
        """Publish the status when it changes (offline only once the last will would be out)."""
        online = self.car.status_online(now)
        if online != self._shown_online and self.connected.is_set():
            self._shown_online = online
            # logged first: whoever sees the message may already read the log
            self.log.info("status", online=online)
            self.client.publish(self.status_topic, status_payload(online), qos=1, retain=True)

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        m = self.mqtt_settings
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive_s)
        self.client.loop_start()
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        if self.connected.is_set():
            info = self.client.publish(self.status_topic, status_payload(False), qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(3)
        self.client.disconnect()
        self.client.loop_stop()

    # --- worker ----------------------------------------------------------------------
    def _work(self) -> None:
        next_autopid = 0.0
        while not self.stop_event.is_set():
            now = self.clock()
            if self.car.tick(now):
                self._changed_awake()
            self._sync_status(now)
            interval = self.settings.autopid_interval_s
            if interval and self.connected.is_set() and now >= next_autopid:
                self._publish_autopid()
                next_autopid = now + interval
            try:
                kind, payload = self.events.get(timeout=self._timeout(now))
            except queue.Empty:
                kind = None
            if kind == "set":
                self._on_command(payload)
            elif kind == "tx":
                self._on_tx(payload)
            self._step()

    def _timeout(self, now: float) -> float:
        timeout = TICK_S
        if self._hold_until > now:
            timeout = min(timeout, self._hold_until - now)
        delay = self.peer.next_delay()
        if delay is not None:
            timeout = min(timeout, delay)
        return max(timeout, 0.0)

    def _changed_awake(self) -> None:
        self.peer.abort()
        self._sync_status(self.clock())
        self.log.info("adapter_awake" if self.car.awake else "adapter_asleep")

    def _on_command(self, payload: bytes) -> None:
        was_awake = self.car.awake
        now = self.clock()
        try:
            changed = self.car.apply(json.loads(payload), now)
        except (ValueError, UnicodeDecodeError) as exc:
            self.log.warning("bad_command", reason=str(exc))
            return
        self.car.tick(now)
        self.log.info("command", changed=changed, soc=round(self.car.soc_at(now), 3))
        if self.car.awake != was_awake:
            self._changed_awake()

    def _on_tx(self, payload: bytes) -> None:
        if not self.car.awake or self.settings.autopid_interval_s:
            return  # asleep, or in AutoPID mode (it does not take raw requests then)
        try:
            frames = parse_tx(payload)
        except ValueError as exc:
            self.log.warning("bad_tx", reason=str(exc))
            return
        if self.car.silent:
            self.log.info("request_ignored", reason="silent")
            return
        idle = not self.peer.busy()
        for frame in frames:
            self.peer.receive(frame)
        if idle and self.settings.reply_delay_s:
            self._hold_until = self.clock() + self.settings.reply_delay_s

    def _answer(self, request: bytes, functional: bool) -> bytes | None:
        assert self.model is not None
        soc = self.car.soc_at(self.clock())
        reply = reply_to(self.model, request, functional, soc)
        if reply is not None:
            self.log.info(
                "answering",
                request=request.hex(" "),
                soc=round(self.model.reply_for(soc)[1], 4),
                bytes=len(reply),
            )
        return reply

    def _step(self) -> None:
        if self.clock() < self._hold_until:
            return
        frames = self.peer.step()
        for error in self.peer.errors:
            self.log.warning("isotp", error=error)
        self.peer.clear_errors()
        if not frames:
            return
        if self.model is not None:
            frames = [self._maybe_break(frame) for frame in frames]
            avoid = self.model.response_id
        else:
            avoid = frames[0].id
        for message in batch(frames, self.car.frames_per_message):
            noise = self._noise.frames(self.car.noise_frames, avoid)
            self._publish_rx((*noise, *message))

    def _maybe_break(self, frame: CanFrame) -> CanFrame:
        assert self.model is not None
        offset = 0 if self.model.ecu_address is None else 1
        if frame.id != self.model.response_id or len(frame.data) <= offset:
            return frame
        if frame.data[offset] >> 4 in (PCI_SINGLE, PCI_FIRST):  # a new reply starts
            self._breaker = Breaker(offset) if self.car.take_corruption() else None
            if self._breaker is not None:
                self.log.info("breaking_reply")
        return self._breaker.frame(frame) if self._breaker is not None else frame

    def _publish_autopid(self) -> None:
        """The AutoPID group message of the adapter's firmware: JSON, retained, no time."""
        if not self.car.awake:
            return
        s = self.settings
        values = {s.autopid_soc_name: round(self.car.soc_at(self.clock()), 2), "SOH": 97.5}
        payload = json.dumps(values, separators=(",", ":"))
        self.client.publish(s.autopid_topic or self.rx_topic, payload, qos=0, retain=True)


class WicanSimulator:
    """All simulated cars of one process."""

    def __init__(self, settings: SimWicanSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        suffix = f"-{settings.instance}" if settings.instance else ""
        self.cars = [
            CarAdapter(car, settings.mqtt_for(car, index), suffix, clock)
            for index, car in enumerate(settings.car_list())
        ]
        self.log = structlog.get_logger("sim-wican")
        self.stop_event = threading.Event()

    def run(self) -> None:
        s = self.settings
        for car in self.cars:
            car.start()
        try:
            while not self.stop_event.is_set():
                if s.health_file and all(car.connected.is_set() for car in self.cars):
                    touch(s.health_file, s.heartbeat_interval_s)
                self.stop_event.wait(min(s.heartbeat_interval_s, 1.0))
        finally:
            for car in self.cars:
                car.stop()
