"""WiCAN SoC benchmark through a real broker: ``python -m bench.wican`` (``--runs N``).

A mosquitto with the project's config (``LocalBroker``), wican-status, wican-soc and the
WiCAN simulator (Nissan Leaf ZE1 profile: 53-byte reply, First Frame + Flow Control +
7 Consecutive Frames) run as separate processes, exactly as in ``make demo``.

1. Latency: the simulator is put to sleep and woken with a new SoC; measured at one
   observer client from the live ``{"status": "online"}`` to the ``car/soc`` message that
   carries that SoC (request, reply, Flow Control, decode and publish on the way).
2. Decoder throughput: a publisher sends Leaf replies (8 rx messages each) for a second
   vehicle as fast as it can; the rate is rx messages / time until wican-soc published the
   last reply's SoC. Replies that did not come out are counted as lost.

Prints a table and writes ``bench/results/wican.json``.
Goals (issue 3): p99 latency < 100 ms, throughput > 5,000 rx messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from services.broker_setup.local_broker import LocalBroker
from services.sim.wican.catalogue import load_catalogue
from services.wican_soc.profiles import load_profiles
from services.wican_soc.reader import Reading, VehicleReader
from shared.isotp import segment
from shared.wican_payload import CanFrame, tx_message

RESULTS = Path(__file__).parent / "results" / "wican.json"
PROJECT = Path(__file__).resolve().parents[1]
PROFILE = "nissan-leaf-ze1"
SIM_DEVICE = "bec5e0000001"  # a WiCAN id: 12 hex digits, as the simulator insists
LOAD_DEVICE = "benchload0001"
GOAL_P99_MS = 100.0
GOAL_RATE = 5000.0
TIMEOUT_S = 20.0
NOISE_PER_FRAME = 4  # unrelated rx messages after each reply frame (80 % of the traffic)
NOISE_IDS = (0x1D4, 0x1DB, 0x5BC, 0x5C0)
# Leaf ZE1: First Frame + 7 Consecutive Frames, one per rx message, plus the noise
MESSAGES_PER_REPLY = 8 * (1 + NOISE_PER_FRAME)
WINDOW = 20  # replies in flight during the throughput run (800 rx messages < 1000 queued)


class Observer:
    """An MQTT client that timestamps what it receives and lets the bench wait for it."""

    def __init__(self, broker: LocalBroker, topics: list[str]) -> None:
        self.cond = threading.Condition()
        self.seen: list[tuple[float, str, bytes, bool]] = []
        self.counts: dict[str, int] = {}
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="bench-observer", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set("admin", broker.passwords["admin"])
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe([(topic, 1) for topic in [*topics, "bench/ready"]])
        self.publish("bench/ready", b"1")
        self.wait(lambda: self.find("bench/ready"), "subscriptions")

    def _on_message(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        with self.cond:
            self.seen.append((now, msg.topic, msg.payload, msg.retain))
            if not msg.retain:
                self.counts[msg.topic] = self.counts.get(msg.topic, 0) + 1
            self.cond.notify_all()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos)

    def find(self, topic: str, where=lambda payload: True, after: int = 0):
        for index in range(after, len(self.seen)):
            seen = self.seen[index]
            if seen[1] == topic and not seen[3] and where(seen[2]):
                return index, seen[0]
        return None

    def count(self, topic: str) -> int:
        """Live (not retained) messages received on `topic` so far."""
        return self.counts.get(topic, 0)

    def wait(self, predicate, what: str, timeout: float = TIMEOUT_S):
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise TimeoutError(f"bench: timed out waiting for {what}")
            return predicate()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


#: the load generator's login, with the rights of `wican`
LOAD_LOGIN = "wican-load"


def start(module: str, user: str, broker: LocalBroker, env: dict[str, str], log: Path):
    full_env = {
        **os.environ,
        **broker.env_for(user),
        "PYTHONPATH": str(PROJECT),
        "CANBRIDGE_LOG_LEVEL": "warning",
        "CANBRIDGE_LOG_FORMAT": "json",
        **env,
    }
    full_env.pop("CANBRIDGE_CONFIG", None)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=PROJECT, env=full_env, stdout=out, stderr=out
        )


def vehicles() -> str:
    return json.dumps(
        [
            {"name": "sim", "device_id": SIM_DEVICE, "profile": PROFILE, "poll_interval_s": 3600},
            {
                "name": "load",
                "device_id": LOAD_DEVICE,
                "profile": PROFILE,
                "poll_interval_s": 3600,
                "soc_topic": "car/load/soc",
                "value_topics": False,
            },
        ]
    )


def soc_is(target: float):
    return lambda payload: abs(json.loads(payload)["soc"] - target) < 0.01


def measure_latency(observer: Observer, runs: int) -> list[float]:
    status, command = f"wican/{SIM_DEVICE}/status", f"sim/wican/{SIM_DEVICE}/set"
    offline = b'{"status": "offline"}'
    latencies = []
    for run in range(runs + 1):  # the first run warms up caches and connections
        soc = 20.0 + (run % 60)
        mark = len(observer.seen)
        observer.publish(command, json.dumps({"awake": False}).encode())
        observer.wait(lambda m=mark: observer.find(status, lambda p: p == offline, m), "offline")
        mark = len(observer.seen)
        observer.publish(command, json.dumps({"soc": soc, "awake": True}).encode())
        online = observer.wait(
            lambda m=mark: observer.find(status, lambda p: p != offline, m), "online"
        )
        done = observer.wait(
            lambda m=mark, s=soc: observer.find("car/soc", soc_is(s), m), f"car/soc {soc}"
        )
        if run:
            latencies.append((done[1] - online[1]) * 1000)
    return latencies


def _rx(frame: CanFrame, ts: int) -> bytes:
    rx = {"bus": "0", "type": "rx", "ts": ts, "frame": tx_message([frame])["frame"]}
    return json.dumps(rx, separators=(",", ":")).encode()


def leaf_messages(socs: list[float], noise: int = NOISE_PER_FRAME) -> list[bytes]:
    """Serialised rx messages of Leaf replies, one frame each, each reply frame followed by
    `noise` messages of unrelated bus traffic (an adapter without CAN filters)."""
    car = load_catalogue()[PROFILE]
    messages = []
    for ts, soc in enumerate(socs):
        payload, _ = car.reply_for(soc)
        for data in segment(payload, 0xAA):
            messages.append(_rx(CanFrame(0x7BB, False, data), ts))
            for k in range(noise):
                counter = (ts * noise + k) & 0xFF
                other = bytes([0x21, counter, 0x10, 0x20, 0x30, 0x40, 0x50, counter])
                messages.append(_rx(CanFrame(NOISE_IDS[k % len(NOISE_IDS)], False, other), ts))
    return messages


def measure_throughput(observer: Observer, broker: LocalBroker, transfers: int) -> dict:
    socs = [40.0 + (i % 50) for i in range(transfers - 1)] + [99.5]  # last one = marker
    messages = leaf_messages(socs)
    publisher = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="bench-load", protocol=mqtt.MQTTv311
    )
    # a login of its own: the broker holds one connection per login, and `wican` is the simulator's
    publisher.username_pw_set(LOAD_LOGIN, broker.passwords[LOAD_LOGIN])
    publisher.max_queued_messages_set(0)
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    topic = f"wican/{LOAD_DEVICE}/can/rx"
    mark = len(observer.seen)
    before = observer.count("car/load/soc")
    started = time.perf_counter()
    for index, payload in enumerate(messages):
        if index % (5 * MESSAGES_PER_REPLY) == 0 and index // MESSAGES_PER_REPLY >= WINDOW:
            # keep at most WINDOW replies ahead of wican-soc: the broker drops QoS 0
            # messages beyond its queue limit, and a sustained rate is what counts
            ahead = index // MESSAGES_PER_REPLY - WINDOW
            observer.wait(lambda a=ahead: observer.count("car/load/soc") - before > a, "window")
        publisher.publish(topic, payload, qos=0)
    sent = time.perf_counter()
    done = observer.wait(
        lambda: observer.find("car/load/soc", soc_is(99.5), mark), "last reply", timeout=120
    )
    elapsed = done[1] - started
    published = observer.count("car/load/soc") - before
    publisher.disconnect()
    publisher.loop_stop()
    return {
        "rx_messages": len(messages),
        "replies": transfers,
        "replies_published": published,
        "replies_lost": transfers - published,
        "publish_s": round(sent - started, 4),
        "elapsed_s": round(elapsed, 4),
        "rx_messages_per_s": round(len(messages) / elapsed, 1),
    }


def decoder_only(transfers: int) -> float:
    """rx messages/s of parse + reassembly + decode in this process, without MQTT."""
    from shared.wican_payload import parse_rx

    reader = VehicleReader(load_profiles()[PROFILE])
    messages = leaf_messages([40.0 + (i % 50) for i in range(transfers)])  # same mix
    readings = 0
    started = time.perf_counter()
    for index, payload in enumerate(messages):
        for outcome in reader.feed(parse_rx(payload), index * 0.001):
            readings += isinstance(outcome, Reading)
    elapsed = time.perf_counter() - started
    assert readings == transfers, readings
    return len(messages) / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wican")
    parser.add_argument("--runs", type=int, default=100, help="latency runs (default 100)")
    parser.add_argument("--transfers", type=int, default=1000, help="replies for throughput")
    args = parser.parse_args(argv)
    broker = LocalBroker(extra_logins={LOAD_LOGIN: "wican"}).start()
    logs = broker.root / "logs"
    logs.mkdir()
    procs = []
    observer = None
    try:
        common = {"CANBRIDGE_VEHICLES": vehicles(), "CANBRIDGE_HEALTH_FILE": ""}
        procs.append(start("services.wican_soc", "wican-soc", broker, common, logs / "soc.log"))
        status_env = {**common, "CANBRIDGE_MIN_GAP_S": "0", "CANBRIDGE_ANSWER_TIMEOUT_S": "1"}
        procs.append(
            start("services.wican_status", "wican-status", broker, status_env, logs / "st.log")
        )
        observer = Observer(
            broker, ["wican/+/status", "car/soc", "car/load/soc", "canbridge/+/status"]
        )
        for service in ("wican-soc", "wican-status"):
            observer.wait(
                lambda s=service: observer.find(f"canbridge/{s}/status", lambda p: p == b"online"),
                f"{service} online",
            )
        sim_env = {
            "CANBRIDGE_DEVICE_ID": SIM_DEVICE,
            "CANBRIDGE_PROFILE": PROFILE,
            "CANBRIDGE_HEALTH_FILE": "",
        }
        procs.append(start("services.sim.wican", "wican", broker, sim_env, logs / "sim.log"))
        observer.wait(lambda: observer.find(f"wican/{SIM_DEVICE}/status"), "simulator online")
        latencies = measure_latency(observer, args.runs)
        throughput = measure_throughput(observer, broker, args.transfers)
    finally:
        if observer is not None:
            observer.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        broker.stop()
    local_rate = decoder_only(args.transfers)
    shutil.rmtree(broker.root, ignore_errors=True)

    result: dict[str, Any] = {
        "profile": PROFILE,
        "latency_ms": {
            "runs": len(latencies),
            "p50": round(statistics.median(latencies), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
            "goal_p99": GOAL_P99_MS,
        },
        "throughput": {**throughput, "goal_rx_messages_per_s": GOAL_RATE},
        "decoder_in_process_rx_messages_per_s": round(local_rate, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    lat, thr = result["latency_ms"], result["throughput"]
    ok_lat = "ok" if lat["p99"] < GOAL_P99_MS else "MISSED"
    ok_thr = "ok" if thr["rx_messages_per_s"] > GOAL_RATE else "MISSED"
    rows = [
        ("online -> retained SoC, p50", f"{lat['p50']:.1f} ms", ""),
        ("online -> retained SoC, p99", f"{lat['p99']:.1f} ms", f"< 100 ms  {ok_lat}"),
        ("online -> retained SoC, max", f"{lat['max']:.1f} ms", ""),
        (
            "wican-soc throughput via broker",
            f"{thr['rx_messages_per_s']:,.0f} msg/s",
            f"> 5,000  {ok_thr}",
        ),
        ("replies lost", f"{thr['replies_lost']} of {thr['replies']}", ""),
        ("decoder alone (no MQTT)", f"{local_rate:,.0f} msg/s", ""),
    ]
    print(f"WiCAN bench ({PROFILE}, {lat['runs']} latency runs)")
    for name, value, goal in rows:
        print(f"  {name:<34} {value:>16}  {goal}")
    print(f"written to {RESULTS.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
