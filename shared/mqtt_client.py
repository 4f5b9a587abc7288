"""The one MQTT client wrapper every service uses.

paho-mqtt 2.x with VERSION2 callbacks and MQTT v5. `start()` uses
connect_async + loop_start, so a broker that is not up yet (or restarts later)
is retried with exponential backoff forever. Subscriptions are registered with
`subscribe()` and (re)made in on_connect, so they survive reconnects. The last
will is `offline` (retained, QoS 1) on `<base>/<service>/status`; `online` is
published on every connect and `offline` explicitly on `stop()` (paho does not
send the will on a clean disconnect). Every socket the client opens (first
connect and each reconnect) gets TCP_NODELAY: small packets go out at once
instead of waiting behind an unacknowledged one (Nagle), which cost ~40 ms per
back-to-back message (docs/charge-controller.md, end-to-end latency).

Retained state survives a broker crash: the client remembers the latest retained
payload it published per topic (bounded, see shared/retained_memory.py) and publishes
them again on every reconnect, right after `online`, so a broker that
restarted from an old file serves the latest values again within moments. Publish
a topic with one QoS: a QoS 1 message paho still holds from before the reconnect is
sent after the re-assert, so a later QoS 0 value of the same topic would be overtaken.

Handlers run on paho's network thread: keep them short and hand long work to
a queue. Exceptions in handlers and bad JSON are logged with the reason and
never raised into paho.

Every subscription has a payload size limit (`max_bytes`, default
`DEFAULT_LIMITS.max_bytes`), checked here before any handler sees the message;
`subscribe_json` also applies the JSON limits of `shared.payload_limits`. A refused
payload is logged once per subscription and cause (then a reminder every
10 minutes with the count, `shared.log_throttle`), never once per message.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from shared.contract.status import OFFLINE, ONLINE
from shared.contract.topics import status_topic
from shared.log_throttle import LogThrottle
from shared.payload_limits import (
    DEFAULT_LIMITS,
    PayloadLimits,
    PayloadRejected,
    excerpt,
)
from shared.payload_limits import decode_json as decode_json  # services import it from here too
from shared.publisher import Payload
from shared.retained_memory import RetainedMemory, payload_bytes
from shared.settings import MqttSettings
from shared.token_bucket import TokenBucket

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = structlog.get_logger("shared.mqtt")

MessageHandler = Callable[[mqtt.MQTTMessage], object]  # what it returns is not used
JsonHandler = Callable[[str, Any, mqtt.MQTTMessage], object]


def encode_json(obj: object) -> bytes:
    """Serialise strictly: NaN/Infinity and non-JSON types raise ValueError/TypeError."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


@dataclass
class _Subscription:
    topic_filter: str
    handler: MessageHandler
    qos: int


class MqttClient:
    """A connected-forever MQTT v5 client for one service."""

    def __init__(
        self,
        settings: MqttSettings,
        service: str,
        base_topic: str,
        client_id: str | None = None,
        password: str | None = None,
        availability: bool = True,
    ) -> None:
        self.service = service
        self.base = base_topic
        self.status_topic = status_topic(base_topic, service)
        self._availability = availability
        self._subs: list[_Subscription] = []
        self._connect_hooks: list[Callable[[], object]] = []  # results are not used
        self._session_live = False  # CONNACK seen and subscriptions snapshotted (under _lock)
        self._lock = threading.Lock()
        self.connected = threading.Event()
        #: set while every SUBSCRIBE sent since the latest connect has been acknowledged
        self.subscribed = threading.Event()
        self._pending_mids: set[int] = set()
        self._connects = threading.Condition()
        self._stopping = False
        self.connect_count = 0
        self._settings = settings
        #: latest retained payload per topic this client published, re-asserted on reconnect;
        #: `_publish_lock` orders each publish against the re-assert (no stale value last)
        self.retained = RetainedMemory()
        self._publish_lock = threading.RLock()
        cid = client_id or f"{base_topic}-{service}"
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5
        )
        self._client.enable_logger(logging.getLogger("paho"))
        user = settings.username or service
        self._client.username_pw_set(
            user, password if password is not None else settings.resolved_password()
        )
        if availability:
            self._client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        self._client.reconnect_delay_set(  # paho says int, and takes float seconds as they are
            min_delay=settings.reconnect_min_s,  # type: ignore[arg-type]
            max_delay=settings.reconnect_max_s,  # type: ignore[arg-type]
        )
        self._client.max_queued_messages_set(settings.max_queued_messages)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_socket_open = self._on_socket_open
        self._log = log.bind(mqtt_user=user, client_id=cid)
        self.rejections = LogThrottle()  # refused payloads, counted per subscription and cause
        self._intake: TokenBucket | None = None  # see limit_intake
        self._intake_log = LogThrottle(reminder_s=60.0)
        self._rejections_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; retries until the broker answers."""
        s = self._settings
        self._log.info("mqtt_connecting", host=s.host, port=s.port)
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        self._client.loop_start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self.connected.wait(timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Connected and every registered subscription acknowledged by the broker."""
        return self.connected.wait(timeout) and self.subscribed.wait(timeout)

    def wait_connects(self, count: int, timeout: float | None = None) -> bool:
        """Wait until the client has connected `count` times in all (reconnects included)."""
        with self._connects:
            return self._connects.wait_for(
                lambda: self.connect_count >= count and self.connected.is_set(), timeout
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Publish `offline` (retained), wait for it, disconnect and stop the thread."""
        self._stopping = True
        if self._availability and self.connected.is_set():
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                self._log.warning("offline_not_published", reason=str(exc))
        # paho's loop thread logs a spurious "Client is not connected" error while it
        # winds down after a clean disconnect; nothing is wrong, so don't show it.
        self._client.disable_logger()
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()
        self._log.info("mqtt_stopped")

    def add_connect_hook(self, hook: Callable[[], object]) -> None:
        """Call `hook()` (on the network thread) after every successful (re)connect."""
        self._connect_hooks.append(hook)

    # --- subscriptions ---------------------------------------------------------
    def subscribe(
        self,
        topic_filter: str,
        handler: MessageHandler,
        qos: int = 1,
        max_bytes: int = DEFAULT_LIMITS.max_bytes,
    ) -> None:
        """Register a handler; subscribed now if connected and again on every reconnect.

        A payload longer than `max_bytes` never reaches the handler (logged, counted).
        """
        bounded = self._size_checked(topic_filter, handler, max_bytes)
        with self._lock:
            self._subs.append(_Subscription(topic_filter, bounded, qos))
            # Decided under the lock on_connect takes its snapshot with: either that
            # snapshot has this filter, or the session is live and we subscribe now.
            live = self._session_live
        if live:
            with self._lock:
                self.subscribed.clear()
                _rc, mid = self._client.subscribe(topic_filter, qos)
                if mid is not None:  # None: the connection dropped (on_connect subscribes)
                    self._pending_mids.add(mid)

    def _size_checked(
        self, topic_filter: str, handler: MessageHandler, max_bytes: int
    ) -> MessageHandler:
        """`handler`, called only for payloads of at most `max_bytes` (the rest is refused)."""

        def check(msg: mqtt.MQTTMessage) -> None:
            size = len(msg.payload)
            if size > max_bytes:
                problem = PayloadRejected(
                    "too_large", f"payload has {size} bytes (at most {max_bytes})"
                )
                self.note_rejected(topic_filter, msg, problem)
                return
            handler(msg)

        return check

    def subscribe_json(
        self,
        topic_filter: str,
        handler: JsonHandler,
        qos: int = 1,
        limits: PayloadLimits = DEFAULT_LIMITS,
    ) -> None:
        """Like subscribe(), but hands the parsed JSON; bad payloads are logged and dropped.

        `limits` bounds size, nesting and numbers (shared.payload_limits).
        A retained command is a service's to refuse: ``shared.contract.retained``.
        """

        def parse(msg: mqtt.MQTTMessage) -> None:
            try:
                data = decode_json(msg.payload, limits)
            except PayloadRejected as exc:
                self.note_rejected(topic_filter, msg, exc)
                return
            handler(msg.topic, data, msg)

        self.subscribe(topic_filter, parse, qos, max_bytes=limits.max_bytes)

    def rejected_total(self) -> int:
        """Payloads refused since start (all subscriptions and causes)."""
        with self._rejections_lock:
            return self.rejections.total

    def note_rejected(self, key: str, msg: mqtt.MQTTMessage, exc: PayloadRejected) -> None:
        """Count a refused payload; log it if it is the first of its kind (or a reminder is due).

        `key` is the subscription filter, so the log stays bounded whatever topics arrive.
        """
        with self._rejections_lock:
            verdict = self.rejections.check(key, exc.cause, time.monotonic())
        if not verdict.log:
            return
        self._log.warning(
            "bad_payload_dropped",
            subscription=key,
            topic=excerpt(msg.topic),
            cause=exc.cause,
            reason=str(exc),
            payload=excerpt(msg.payload),
            suppressed_since_last_log=verdict.repeated,
        )

    # --- publishing ------------------------------------------------------------
    def publish(
        self,
        topic: str,
        payload: Payload,
        qos: int = 0,
        retain: bool = False,
        expiry_s: int | None = None,
        correlation: bytes | None = None,
    ) -> mqtt.MQTTMessageInfo:
        """Publish; `expiry_s` sets the MQTT v5 Message Expiry Interval (stale data ages out),
        `correlation` its Correlation Data (an answer echoes the request's: `correlation_of`)."""
        with self._publish_lock:
            info = self._client.publish(
                topic,
                payload,
                qos=qos,
                retain=retain,
                properties=_properties(expiry_s, correlation),
            )
            if retain:
                self._remember(topic, payload, qos, expiry_s)
        if info.rc == mqtt.MQTT_ERR_NO_CONN and qos == 0:
            self._log.debug("publish_dropped_not_connected", topic=topic)
        return info

    def publish_json(
        self,
        topic: str,
        obj: object,
        qos: int = 0,
        retain: bool = False,
        expiry_s: int | None = None,
        correlation: bytes | None = None,
    ) -> mqtt.MQTTMessageInfo | None:
        """Publish `obj` as JSON; an unserialisable object is logged and not sent."""
        try:
            payload = encode_json(obj)
        except (TypeError, ValueError) as exc:
            self._log.error("json_publish_rejected", topic=topic, reason=str(exc))
            return None
        return self.publish(
            topic, payload, qos=qos, retain=retain, expiry_s=expiry_s, correlation=correlation
        )

    def _remember(self, topic: str, payload: Payload, qos: int, expiry_s: int | None) -> None:
        forgotten = self.retained.remember(
            topic, payload_bytes(payload), qos, expiry_s, time.monotonic()
        )
        for lost in forgotten:
            self._log.warning(
                "retained_not_reasserted",
                topic=lost,
                reason=f"memory full ({self.retained.max_topics} topics, "
                f"{self.retained.max_bytes} bytes) or payload too large; "
                "after a broker crash this topic keeps the broker's saved value",
            )

    def _reassert_retained(self, client: mqtt.Client) -> None:
        """Publish every remembered retained message again (network thread, on connect)."""
        with self._publish_lock:
            due = self.retained.due(time.monotonic())
            for item in due:
                client.publish(
                    item.topic,
                    item.payload,
                    qos=item.qos,
                    retain=True,
                    properties=_properties(item.expiry_s, None),
                )
        if due:
            self._log.info("retained_reasserted", count=len(due), connects=self.connect_count + 1)

    # --- paho callbacks (network thread) ---------------------------------------
    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        # before CONNECT is sent, on every (re)connect; a TLS socket takes it too
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
        except (AttributeError, OSError) as exc:  # not a TCP socket (websocket/unix transport)
            self._log.warning("tcp_nodelay_not_set", reason=str(exc))

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._log.error("mqtt_connect_refused", reason=str(reason_code))
            return
        with self._lock:
            subs = [(s.topic_filter, s.qos) for s in self._subs]
            self._session_live = True
        if self._availability:
            client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        self._reassert_retained(client)
        with self._lock:
            self._pending_mids.clear()
            if subs:
                self.subscribed.clear()
                _rc, mid = client.subscribe(subs)
                if mid is not None:  # None: the connection dropped (the next connect retries)
                    self._pending_mids.add(mid)
            else:
                self.subscribed.set()
        self._log.info(
            "mqtt_connected",
            session_present=bool(flags.session_present),
            subscriptions=[t for t, _ in subs],
            connects=self.connect_count + 1,
        )
        # hooks publish before anyone waiting on `connected` proceeds, so what they
        # send (e.g. discovery) is ordered before the waiter's own messages
        for hook in list(self._connect_hooks):
            try:
                hook()
            except Exception:  # a hook bug must not break the connection
                self._log.exception("connect_hook_failed")
        with self._connects:
            self.connect_count += 1
            self.connected.set()
            self._connects.notify_all()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._session_live = False
        self.connected.clear()
        self.subscribed.clear()
        if self._stopping:
            return
        self._log.warning(
            "mqtt_disconnected", reason=str(reason_code), retry="automatic with backoff"
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        for rc in reason_codes:
            if rc.is_failure:
                self._log.error("mqtt_subscribe_refused", reason=str(rc), mid=mid)
        with self._lock:
            self._pending_mids.discard(mid)
            if not self._pending_mids:
                self.subscribed.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if reason_code.is_failure:
            self._log.error("mqtt_publish_refused", reason=str(reason_code), mid=mid)

    def limit_intake(self, rate_per_s: float, burst: float) -> None:
        """Handle at most ``rate_per_s`` incoming messages per second (``burst`` at once) on this
        connection: beyond that the network thread sleeps before the next one, so a flood costs
        this process a bounded share of the CPU (and of the GIL its other threads need) and the
        rest waits at the broker, which drops what is over its queue limits. Call before
        ``start``."""
        self._intake = TokenBucket(rate_per_s, burst)

    def _pace_intake(self) -> None:
        if self._intake is None:
            return
        now = time.monotonic()
        wait = self._intake.wait_s(now)
        if wait <= 0.0:
            return
        verdict = self._intake_log.check("intake", "paced", now)
        if verdict.log:
            self._log.warning(
                "mqtt_intake_paced",
                rate_per_s=self._intake.rate_per_s,
                paced_before=verdict.repeated,
                detail="more messages than this connection handles per second: the rest wait "
                "at the broker, which drops what is over its queue limits",
            )
        time.sleep(wait)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._pace_intake()
        with self._lock:
            handlers = [
                s.handler for s in self._subs if mqtt.topic_matches_sub(s.topic_filter, msg.topic)
            ]
        for handler in handlers:
            try:
                handler(msg)
            except Exception:  # a bad message must never kill the network thread
                self._log.exception("handler_failed", topic=msg.topic)


#: the longest Correlation Data echoed in an answer: an id, not a payload (a sender's
#: megabyte would otherwise come back in every answer)
MAX_CORRELATION_BYTES = 64


def correlation_of(msg: mqtt.MQTTMessage) -> bytes | None:
    """A request's MQTT v5 Correlation Data, to echo in its answer; None if absent or too long."""
    data = getattr(getattr(msg, "properties", None), "CorrelationData", None)
    if not isinstance(data, bytes | bytearray) or not 0 < len(data) <= MAX_CORRELATION_BYTES:
        return None
    return bytes(data)


def _properties(expiry_s: int | None, correlation: bytes | None) -> Properties | None:
    """PUBLISH properties: Message Expiry Interval and Correlation Data; None without either."""
    if expiry_s is None and correlation is None:
        return None
    props = Properties(PacketTypes.PUBLISH)
    if expiry_s is not None:
        props.MessageExpiryInterval = int(expiry_s)
    if correlation is not None:
        props.CorrelationData = correlation
    return props
