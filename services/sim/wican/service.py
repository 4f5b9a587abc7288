"""The simulator's MQTT side: behaves like a WiCAN adapter in a car.

Like the real adapter it speaks MQTT 3.1.1 and logs in as user `wican`: retained
`{"status": "online"}` on connect, the same topic as retained last will `offline`.
Requests on `wican/<id>/can/tx` are answered on `can/rx` by a worker thread (the paho
thread never sleeps). Commands: JSON on `sim/wican/<id>/set`, e.g.
`{"awake": false}` (sleep: status offline, no answers), `{"soc": 42}`, `{"silent": true}`,
`{"corrupt_transfers": 1}`, `{"frames_per_message": 3}`, `{"noise_frames": 2}`.
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

from services.sim.wican.adapter import Batch, ReplyTransfer
from services.sim.wican.car import CarState
from services.sim.wican.recorded import RecordedCar, load_cars
from services.sim.wican.reply import ReplyEncoder
from services.sim.wican.settings import SimWicanSettings
from services.wican_soc.topics import rx_topic, status_topic, tx_topic
from shared.heartbeat import touch
from shared.isotp import PCI_FLOW_CONTROL, PCI_SINGLE
from shared.wican_payload import CanFrame, parse_tx, tx_message

N_BS_TIMEOUT_S = 1.0  # ISO 15765-2: wait at most this long for a Flow Control


def _no_delay(client, userdata, sock) -> None:
    """Send each frame at once (Nagle would hold a Consecutive Frame for the last ACK)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def command_topic(device_id: str) -> str:
    return f"sim/wican/{device_id}/set"


def status_payload(online: bool) -> bytes:
    # the adapter's own spelling, with a space after the colon
    return b'{"status": "online"}' if online else b'{"status": "offline"}'


class WicanSimulator:
    def __init__(self, settings: SimWicanSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.profile = settings.profile_model
        self.encoder = ReplyEncoder(self.profile)
        #: recorded raw replies (settings.cars_file) answer instead of the profile
        self.recorded = RecordedCar(load_cars(settings.cars_file)) if settings.cars_file else None
        self.clock = clock
        self.car = CarState(
            soc=settings.soc,
            soc_rate_per_h=settings.soc_rate_per_h,
            awake=settings.awake,
            silent=settings.silent,
            corrupt_transfers=settings.corrupt_transfers,
            frames_per_message=settings.frames_per_message,
            noise_frames=settings.noise_frames,
            since=clock(),
        )
        self.log = structlog.get_logger("sim-wican").bind(device_id=settings.device_id)
        device = settings.device_id
        self.status_topic = status_topic(device, settings.firmware_2024_status)
        self.rx_topic = rx_topic(device)
        self.tx_topic = tx_topic(device)
        self.command_topic = command_topic(device)
        self.events: queue.Queue = queue.Queue()
        self.stop_event = threading.Event()
        self.connected = threading.Event()
        self._transfer: ReplyTransfer | None = None
        self._fc_deadline = 0.0
        self._started = clock()
        self.client = self._make_client()

    # --- MQTT ------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"wican-sim-{s.device_id}" + (f"-{s.instance}" if s.instance else ""),
            protocol=mqtt.MQTTv311,
        )
        client.username_pw_set(s.mqtt.username or "wican", s.mqtt.resolved_password())
        client.will_set(self.status_topic, status_payload(False), qos=1, retain=True)
        client.reconnect_delay_set(s.mqtt.reconnect_min_s, s.mqtt.reconnect_max_s)
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
        client.publish(self.status_topic, status_payload(self.car.awake), qos=1, retain=True)
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

    # --- worker ----------------------------------------------------------------------
    def run(self) -> None:
        s = self.settings
        self.client.connect_async(s.mqtt.host, s.mqtt.port, keepalive=s.mqtt.keepalive_s)
        self.client.loop_start()
        next_health = next_autopid = 0.0
        try:
            while not self.stop_event.is_set():
                now = self.clock()
                if self.connected.is_set() and now >= next_health and s.health_file:
                    touch(s.health_file, s.heartbeat_interval_s)
                    next_health = now + s.heartbeat_interval_s
                if s.autopid_interval_s and self.connected.is_set() and now >= next_autopid:
                    self._publish_autopid()
                    next_autopid = now + s.autopid_interval_s
                try:
                    kind, payload = self.events.get(timeout=0.2)
                except queue.Empty:
                    self._check_fc_timeout()
                    continue
                if kind == "set":
                    self._on_command(payload)
                elif kind == "tx":
                    self._on_tx(payload)
        finally:
            if self.connected.is_set():
                info = self.client.publish(
                    self.status_topic, status_payload(False), qos=1, retain=True
                )
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(3)
            self.client.disconnect()
            self.client.loop_stop()

    def _on_command(self, payload: bytes) -> None:
        was_awake = self.car.awake
        try:
            changed = self.car.apply(json.loads(payload), self.clock())
        except (ValueError, UnicodeDecodeError) as exc:
            self.log.warning("bad_command", reason=str(exc))
            return
        self.log.info("command", changed=changed, soc=round(self.car.soc_at(self.clock()), 3))
        if self.car.awake != was_awake:
            self._transfer = None
            self.client.publish(
                self.status_topic, status_payload(self.car.awake), qos=1, retain=True
            )
            self.log.info("adapter_awake" if self.car.awake else "adapter_asleep")

    def _on_tx(self, payload: bytes) -> None:
        if not self.car.awake or self.settings.autopid_interval_s:
            return  # asleep, or in AutoPID mode (it does not take raw requests then)
        try:
            frames = parse_tx(payload)
        except ValueError as exc:
            self.log.warning("bad_tx", reason=str(exc))
            return
        if self.recorded is not None:
            self._answer_recorded(frames)
            return
        p = self.profile
        for frame in frames:
            if frame.id != p.request_id or frame.extended != p.extended or not frame.data:
                continue
            kind = frame.data[0] >> 4
            if kind == PCI_FLOW_CONTROL:
                self._continue(frame.data)
            elif kind == PCI_SINGLE and frame.data[1 : 1 + len(p.request)] == p.request:
                self._answer()

    def _publish_autopid(self) -> None:
        """The AutoPID group message of the adapter's firmware: JSON, retained, no time."""
        if not self.car.awake:
            return
        s = self.settings
        values = {s.autopid_soc_name: round(self.car.soc_at(self.clock()), 2), "SOH": 97.5}
        payload = json.dumps(values, separators=(",", ":"))
        self.client.publish(s.autopid_topic or self.rx_topic, payload, qos=0, retain=True)

    def _answer_recorded(self, frames: list[CanFrame]) -> None:
        assert self.recorded is not None
        for frame in frames:
            if self.car.silent:
                self.log.info("request_ignored", reason="silent")
                continue
            replies = self.recorded.on_frame(frame)
            if replies:
                self.log.info(
                    "answering_recorded", request=frame.data.hex(" "), frames=len(replies)
                )
            for reply in replies:
                self._publish_rx((reply,))

    def _answer(self) -> None:
        if self.car.silent:
            self.log.info("request_ignored", reason="silent")
            return
        if self.settings.reply_delay_s:
            time.sleep(self.settings.reply_delay_s)
        payload, soc = self.encoder.encode(self.car.soc_at(self.clock()))
        broken = self.car.take_corruption()
        self._transfer = ReplyTransfer(
            payload,
            self.profile.response_id,
            self.profile.extended,
            self.car.frames_per_message,
            self.car.noise_frames,
            broken,
        )
        self.log.info("answering", soc=round(soc, 4), bytes=len(payload), corrupted=broken)
        self._send(self._transfer.start())

    def _continue(self, flow_control: bytes) -> None:
        if self._transfer is None:
            self.log.warning("unexpected_flow_control", data=flow_control.hex(" "))
            return
        self._send(self._transfer.on_flow_control(flow_control))

    def _send(self, batch: Batch) -> None:
        for index, frames in enumerate(batch.messages):
            if index and batch.gap_s:
                time.sleep(batch.gap_s)
            self._publish_rx(frames)
        if batch.done:
            self._transfer = None
        else:
            self._fc_deadline = self.clock() + N_BS_TIMEOUT_S

    def _check_fc_timeout(self) -> None:
        if self._transfer is not None and self.clock() > self._fc_deadline:
            self.log.warning("no_flow_control", hint="transfer aborted after N_Bs")
            self._transfer = None
