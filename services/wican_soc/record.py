"""`python -m services.wican_soc record [--out FILE]`: store raw WiCAN `can/rx` traffic.

Writes one line per rx message: the adapter's JSON plus a `topic` key (ignored by the
parser), so `replay` can read it and pick one device. Uses the wican-soc settings
(broker, user, password) but its own client id, so it can run next to the service.
Stops on Ctrl-C, after `--count` messages or after `--seconds`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import TextIO

import paho.mqtt.client as mqtt

from services.wican_soc.settings import WicanSocSettings
from shared.contract.topics import rx_topic
from shared.logging_setup import configure_logging
from shared.mqtt_client import MqttClient
from shared.settings import load_settings


def recording_line(topic: str, payload: bytes | bytearray) -> str | None:
    """The rx message as a recording line (the adapter's JSON plus its topic), or None."""
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(message, dict):
        return None
    return json.dumps({**message, "topic": topic}, separators=(",", ":"))


class Recorder:
    """Writes rx messages as JSON lines; `done` is set after `count` of them."""

    def __init__(self, out: TextIO, count: int | None = None) -> None:
        self.out = out
        self.count = count
        self.written = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def line(self, topic: str, payload: bytes | bytearray) -> str | None:
        return recording_line(topic, payload)

    def on_message(self, msg: mqtt.MQTTMessage) -> None:
        text = self.line(msg.topic, msg.payload)
        if text is None:
            print(f"skipped non-JSON message on {msg.topic}", file=sys.stderr)
            return
        with self._lock:
            if self.done.is_set():
                return
            self.out.write(text + "\n")
            self.out.flush()
            self.written += 1
            if self.count is not None and self.written >= self.count:
                self.done.set()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.wican_soc record")
    parser.add_argument("--out", help="file to append to (default: stdout)")
    parser.add_argument("--device", default="+", help="WiCAN device id (default: all)")
    parser.add_argument("--count", type=int, help="stop after this many messages")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    settings = load_settings(WicanSocSettings)
    # logs go to stderr: stdout may be the recording itself
    configure_logging("wican-soc-record", settings.log_level, "console", stream=sys.stderr)
    out = open(args.out, "a", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    recorder = Recorder(out, args.count)
    client = MqttClient(
        # its own login: wican-soc's would drop the running service (one connection per login)
        settings.mqtt.tool_login("wican-soc", "wican-record"),
        "wican-soc",
        settings.base_topic,
        client_id=f"{settings.base_topic}-wican-soc-record-{os.getpid()}",
        availability=False,
    )
    client.subscribe(rx_topic(args.device), recorder.on_message, qos=0)
    signal.signal(signal.SIGINT, lambda *_: recorder.done.set())
    signal.signal(signal.SIGTERM, lambda *_: recorder.done.set())
    client.start()
    try:
        recorder.done.wait(args.seconds)
    finally:
        client.stop()
        if args.out:
            out.close()
    print(f"recorded {recorder.written} message(s)", file=sys.stderr)
    return 0
