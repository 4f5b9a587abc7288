"""Test harness: MQTT probes and service processes against a real broker.

Waiting is event-driven: a probe's `wait_for` blocks on a condition variable
until a matching message arrives (or fails after a generous timeout).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import service_launcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from services.broker_setup.local_broker import LocalBroker, free_port
from services.broker_setup.users import USERS

PROJECT = Path(__file__).resolve().parents[1]
TIMEOUT = 15.0
#: spare logins per user for the probes of one test (a login holds one connection)
PROBES_PER_USER = 8


def probe_login(user: str, n: int) -> str:
    return f"{user}.probe{n}"


def probe_logins() -> dict[str, str]:
    """Extra logins for the test broker: login -> the user whose rights it has."""
    return {probe_login(u, n): u for u in USERS for n in range(1, PROBES_PER_USER + 1)}


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    #: the MQTT v5 Correlation Data property, if the message had one
    correlation: bytes | None = None

    @property
    def text(self) -> str:
        return self.payload.decode()


class Probe:
    """A plain paho v5 client that records what it receives and what the broker said."""

    def __init__(
        self,
        broker: LocalBroker,
        user: str | None,
        password: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.messages: list[Received] = []
        self.cond = threading.Condition()
        self.connack: mqtt.ReasonCode | None = None
        self.puback: dict[int, mqtt.ReasonCode] = {}
        self.suback: dict[int, list] = {}
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{user}-{id(self)}",
            protocol=mqtt.MQTTv5,
        )
        if user is not None:
            self.client.username_pw_set(
                user, password if password is not None else broker.passwords[user]
            )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _notify(self, fn: Callable[[], None]) -> None:
        with self.cond:
            fn()
            self.cond.notify_all()

    def _on_connect(self, client, userdata, flags, rc, props):
        self._notify(lambda: setattr(self, "connack", rc))

    def _on_message(self, client, userdata, msg):
        correlation = getattr(msg.properties, "CorrelationData", None)
        received = Received(msg.topic, msg.payload, msg.retain, correlation)
        self._notify(lambda: self.messages.append(received))

    def _on_publish(self, client, userdata, mid, rc, props):
        self._notify(lambda: self.puback.__setitem__(mid, rc))

    def _on_subscribe(self, client, userdata, mid, rcs, props):
        self._notify(lambda: self.suback.__setitem__(mid, rcs))

    def wait(self, predicate: Callable[[], object], what: str, timeout: float = TIMEOUT):
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(
                    f"timed out waiting for {what}; got "
                    f"{[(m.topic, m.payload[:80]) for m in self.messages]}"
                )
            return predicate()

    def wait_connack(self) -> mqtt.ReasonCode:
        return self.wait(lambda: self.connack, "CONNACK")

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.wait_connack()
        _rc, mid = self.client.subscribe(topic, qos)
        self.wait(lambda: mid in self.suback, f"SUBACK for {topic}")

    def publish(
        self,
        topic: str,
        payload,
        qos: int = 1,
        retain: bool = False,
        correlation: bytes | None = None,
    ) -> mqtt.ReasonCode:
        """Publish with QoS 1 and return the broker's PUBACK reason code; `correlation` sets
        the MQTT v5 Correlation Data property."""
        self.wait_connack()
        props = None
        if correlation is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = correlation
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        return self.wait(lambda: self.puback.get(info.mid), f"PUBACK for {topic}")

    def wait_for(
        self,
        topic: str,
        payload: str | None = None,
        where: Callable[[Received], bool] | None = None,
        timeout: float = TIMEOUT,
    ) -> Received:
        def match():
            for m in self.messages:
                if (
                    mqtt.topic_matches_sub(topic, m.topic)
                    and (payload is None or m.text == payload)
                    and (where is None or where(m))
                ):
                    return m
            return None

        return self.wait(match, f"{topic} {payload or ''}", timeout)

    def received(self, topic: str) -> list[Received]:
        with self.cond:
            return [m for m in self.messages if mqtt.topic_matches_sub(topic, m.topic)]

    def clear(self) -> None:
        with self.cond:
            self.messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ServiceProcess:
    """`python -m <module>` (or a script) as a subprocess against the test broker."""

    def __init__(
        self,
        args: list[str],
        broker: LocalBroker,
        user: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_dir / f"{user}-{int(time.monotonic() * 1000)}.log"
        full_env = {
            **os.environ,
            **broker.env_for(user),
            "CANBRIDGE_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(PROJECT),
            # the controller's persisted runtime changes: per test, never /data
            "CANBRIDGE_RUNTIME_STATE_FILE": str(log_dir / "charge-controller-runtime.json"),
            # the api's dashboard history: per test, never /data
            "CANBRIDGE_HISTORY__FILE": str(log_dir / "history.sqlite"),
            # the heartbeat file: per test and service, never the shared /tmp default (tests
            # run in parallel, each service of a test beats on its own)
            "CANBRIDGE_HEALTH_FILE": str(log_dir / f"{user}-heartbeat"),
            **(env or {}),
        }
        full_env.pop("CANBRIDGE_CONFIG", None)
        # forked from a pre-warmed interpreter (CANBRIDGE_TEST_FORK=0: plain Popen), see
        # tests/service_launcher.py
        self.proc = service_launcher.start(
            [sys.executable, *args], cwd=PROJECT, env=full_env, log=self.log_path
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, so only the broker's last will can say `offline`."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(TIMEOUT)


class Api:
    def __init__(self, service, **env):
        self.port = free_port()
        self.proc = service(
            ["-m", "services.api"],
            "api",
            {
                "CANBRIDGE_HTTP_PORT": str(self.port),
                "CANBRIDGE_HTTP_HOST": "127.0.0.1",
                "CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5",
                **env,
            },
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)


def wait_until(watcher: Probe, check, what: str):
    """Re-check `check()` each time a status/heartbeat arrives (the API sees the same)."""
    return watcher.wait(check, what)


def answering(api: Api, watcher: Probe) -> None:
    def up():
        try:
            return api.get("/livez").status_code == 200
        except httpx.TransportError:
            return False

    # the API publishes its own heartbeat; each one is a chance to retry
    wait_until(watcher, up, "API answering /livez")


SCREENSHOT_DIR = PROJECT / "test-output"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: `make test` installs Debian's chromium package"
    return path


def browse(url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="canbridge-chromium-")
    try:
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def save_screenshot(url: str, name: str) -> Path:
    """Render `url` in headless Chromium into test-output/<name>.png, for people to look at."""
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    shot = SCREENSHOT_DIR / f"{name}.png"
    shot.unlink(missing_ok=True)
    result = browse(url, f"--screenshot={shot}", "--window-size=1000,700")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 5000  # a real rendering, not an empty image
    print(f"screenshot: {shot}")
    return shot
