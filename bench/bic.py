"""BIC gateway benchmark: setpoint latency (MQTT message -> CAN frame) and polling bus load.

Run from the repo root: ``python -m bench.bic`` (``--samples N``). Starts a real mosquitto with the
project config (``LocalBroker``), the BIC simulator and the gateway as subprocesses on a private
udp_multicast bus, and listens on that bus itself.

* Latency: a ``set/current`` message (from a spare admin login: the controller's login may only send
  ``set/power``, and a refused publish never reaches the gateway) with a new value each time, at
  random moments so they land anywhere in the poll cycle; measured from just before ``publish``
  to the arrival of the IOUT_SET write frame at the bench's own bus listener (same clock).
  Includes the broker hop, the gateway's queueing behind an in-flight poll request and the
  manual's 20 ms request pacing (``waited_pct``: share of setpoints whose write followed another
  request by less than the request period, i.e. that waited for it). The first setpoint after
  start is reported on its own: it also writes the battery window (VOUT_SET, REVERSE_VOUT_SET,
  each read back) before IOUT_SET, so it takes 4 request periods more.
* Bus load: frames seen during a quiet window with the gateway's default polling (1 s
  measurements, 10 s status/setpoints, 60 s configuration), converted to bits at 250 kbit/s
  (29-bit frames: 67 bits + 8 per data byte, plus worst-case bit stuffing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import can
import paho.mqtt.client as mqtt

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.scheduler import PollScheduler
from services.bic_gateway.settings import TimingSettings
from services.broker_setup.local_broker import LocalBroker

RESULTS = Path(__file__).parent / "results" / "bic.json"
PROJECT = Path(__file__).resolve().parents[1]
BITRATE = 250_000
FRAME_OVERHEAD_BITS = 67  # extended frame without data, incl. ACK, EOF and interframe space
STUFFING = 1.2  # worst-case-ish bit stuffing allowance
GOAL_P99_MS = 20.0
IOUT_SET_WRITE = b"\x30\x00"
REQUEST_PERIOD_S = 0.02
REQUEST_ID = 0x000C0300


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def frame_bits(dlc: int) -> float:
    return (FRAME_OVERHEAD_BITS + 8 * dlc) * STUFFING


def private_bus() -> dict[str, str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    return {
        "CANBRIDGE_CAN__INTERFACE": "udp_multicast",
        "CANBRIDGE_CAN__CHANNEL": f"239.74.199.{os.getpid() % 250 + 1}",
        "CANBRIDGE_CAN__PORT": str(port),
    }


class BusListener:
    """Every frame on the bus with its arrival time (perf_counter)."""

    def __init__(self, bus: can.BusABC) -> None:
        self.bus = bus
        self.frames: list[tuple[float, can.Message]] = []
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self.bus.recv(0.1)
            if msg is not None:
                with self.cond:
                    self.frames.append((time.perf_counter(), msg))
                    self.cond.notify_all()

    def request_before(self, t: float, window: float) -> bool:
        """Was another request to unit 0 on the bus within ``window`` before ``t``?"""
        with self.cond:
            for ft, msg in reversed(self.frames):
                if ft < t - window:
                    return False
                if ft < t and msg.arbitration_id == REQUEST_ID:
                    return True
            return False

    def wait_frame(self, after: float, match, timeout: float) -> float | None:
        def found():
            for t, msg in reversed(self.frames):
                if t < after:
                    return None
                if match(msg):
                    return t
            return None

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def wait_message(self, after: float, match, timeout: float) -> can.Message | None:
        """The first frame matching ``match`` that this listener read after ``after``
        (perf_counter); its ``timestamp`` is the kernel's receive time (wall clock)."""

        def found():
            hit = None
            for t, msg in reversed(self.frames):
                if t < after:
                    break
                if match(msg):
                    hit = msg
            return hit

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def start(module: str, user: str, broker: LocalBroker, env: dict[str, str], log: Path):
    """``python -m module`` as ``user`` against ``broker``; output appended to ``log`` (a
    restarted process keeps its earlier lines)."""
    full = {
        **os.environ,
        **broker.env_for(user),
        "PYTHONPATH": str(PROJECT),
        "CANBRIDGE_LOG_FORMAT": "json",
        **env,
    }
    full.pop("CANBRIDGE_CONFIG", None)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=PROJECT, env=full, stdout=out, stderr=out
        )


def connect(
    broker: LocalBroker, user: str, name: str = ""
) -> tuple[mqtt.Client, dict[str, bytes], threading.Condition]:
    seen: dict[str, bytes] = {}
    cond = threading.Condition()
    client_id = f"bench-{user}{name}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, broker.passwords[user])

    def on_message(_c, _u, msg):
        with cond:
            seen[msg.topic] = msg.payload
            cond.notify_all()

    def on_publish(_c, refused: list, _mid, reason_code, _props):
        # a QoS 1 publish the ACL refuses is acknowledged "Not authorized" and never delivered:
        # ``publish_checked`` turns that into an error instead of a bench that measures nothing
        if reason_code.is_failure:
            refused.append(f"broker refused a publish by {user!r}: {reason_code}")

    client.user_data_set([])
    client.on_message = on_message
    client.on_publish = on_publish
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client, seen, cond


def publish_checked(client: mqtt.Client, topic: str, payload: str) -> None:
    """Publish at QoS 1 (a client from ``connect``) and raise if the broker refused it."""
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(5)
    refused = client.user_data_get()
    if refused:
        raise RuntimeError(refused[0])


@dataclass
class BicStack:
    """A real broker, the BIC simulator and the gateway on a private bus, and a bus listener."""

    broker: LocalBroker
    work: Path
    bus_env: dict[str, str]
    listener: BusListener
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, module: str, user: str, env: dict[str, str], name: str) -> None:
        """One more service process against the same broker (log in ``work/<name>.log``)."""
        self.procs.append(start(module, user, self.broker, env, self.work / f"{name}.log"))


@contextmanager
def bic_stack(sim: dict[str, str] | None = None) -> Iterator[BicStack]:
    """Start the stack; on leaving, stop every process it started (and the broker)."""
    # one connection per login (client id = login): a spare admin login for a second client
    broker = LocalBroker(extra_logins={"bench-requester": "admin"}).start()
    work = Path(broker.root) / "bench"
    work.mkdir()
    bus_env = private_bus()
    listen_bus = can.Bus(
        interface="udp_multicast",
        channel=bus_env["CANBRIDGE_CAN__CHANNEL"],
        port=int(bus_env["CANBRIDGE_CAN__PORT"]),
        can_filters=[id_filter(0x000C0300), id_filter(0x000C0200)],
    )
    stack = BicStack(broker, work, bus_env, BusListener(listen_bus))
    try:
        stack.start(
            "services.sim.bic",
            "sim",
            {**bus_env, "CANBRIDGE_HEALTH_FILE": str(work / "sim-hb"), **(sim or {})},
            "sim",
        )
        gateway = {
            **bus_env,
            "CANBRIDGE_HEALTH_FILE": str(work / "gw-hb"),
            "CANBRIDGE_STATE_FILE": str(work / "state.json"),
            "CANBRIDGE_WATCHDOG__TIMEOUT_S": "3600",
        }
        stack.start("services.bic_gateway", "bic-gateway", gateway, "gateway")
        yield stack
    finally:
        stack.listener.stop()
        listen_bus.shutdown()
        for proc in stack.procs:
            proc.terminate()
        for proc in stack.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        shutil.rmtree(broker.root, ignore_errors=True)


def wait_gateway_up(stack: BicStack, seen: dict[str, bytes], cond: threading.Condition) -> None:
    """Wait for the gateway's first retained state (``seen``/``cond`` from ``connect`` as admin,
    subscribed to ``canbridge/bic/0/#``)."""
    with cond:
        if not cond.wait_for(lambda: "canbridge/bic/0/state" in seen, 30):
            raise RuntimeError(f"gateway did not come up; see {stack.work}")


def latency_stats(latencies_ms: list[float], goal_p99_ms: float) -> dict:
    """p50/p90/p99/max/mean of a latency sample (ms) and whether p99 is below the goal."""
    p99 = percentile(latencies_ms, 99)
    return {
        "samples": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 2),
        "p90_ms": round(percentile(latencies_ms, 90), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies_ms), 2),
        "mean_ms": round(statistics.fmean(latencies_ms), 2),
        "over_goal_pct": round(
            100 * sum(1 for x in latencies_ms if x >= goal_p99_ms) / len(latencies_ms), 2
        ),
        "goal_p99_ms": goal_p99_ms,
        "goal_met": p99 < goal_p99_ms,
    }


def bus_load(listener: BusListener, quiet_s: float) -> dict:
    """Frames on the bus during ``quiet_s`` of steady polling (no commands)."""
    time.sleep(1.0)
    t_start = time.perf_counter()
    time.sleep(quiet_s)
    t_end = time.perf_counter()
    with listener.cond:
        window = [m for t, m in listener.frames if t_start <= t < t_end]
    bits = sum(frame_bits(len(m.data)) for m in window)
    requests = sum(1 for m in window if m.arbitration_id & 0xFFFF00 == 0x0C0300)
    return {
        "window_s": round(t_end - t_start, 2),
        "frames": len(window),
        "requests": requests,
        "frames_per_s": round(len(window) / (t_end - t_start), 2),
        "bits_per_s": round(bits / (t_end - t_start), 1),
        "bus_load_pct": round(100 * bits / (t_end - t_start) / BITRATE, 3),
    }


def setpoint_latency(listener: BusListener, client: mqtt.Client, samples: int) -> dict:
    def setpoint(amps: float) -> tuple[float, float | None]:
        raw = round(amps * 100).to_bytes(2, "little")
        t0 = time.perf_counter()
        publish_checked(client, "canbridge/bic/0/set/current", f"{amps:.2f}")
        t1 = listener.wait_frame(
            t0,
            lambda m: bytes(m.data) == IOUT_SET_WRITE + raw and m.arbitration_id == REQUEST_ID,
            2.0,
        )
        return t0, t1

    t0, t1 = setpoint(1.5)
    first_ms = None if t1 is None else round((t1 - t0) * 1000, 2)
    rng = random.Random(1)
    latencies: list[float] = []
    waited = lost = 0
    for i in range(samples):
        time.sleep(rng.uniform(0.05, 0.15))  # > 2 request periods: its own read-back is done
        t0, t1 = setpoint(2.0 + (i % 50) * 0.1)  # a different value each time: a write is due
        if t1 is None:
            lost += 1
            continue
        latencies.append((t1 - t0) * 1000)
        waited += listener.request_before(t1, REQUEST_PERIOD_S + 0.0005)
    return {
        **latency_stats(latencies, GOAL_P99_MS),
        "lost": lost,
        "waited_pct": round(100 * waited / len(latencies), 2),
        "first_setpoint_ms": first_ms,
    }


def polling_setup() -> dict:
    timing = TimingSettings()
    schedule = PollScheduler(timing.poll_groups())
    return {
        "transport": "udp_multicast (simulated bus), real mosquitto",
        "poll_interval_s": timing.poll_interval_s,
        "slow_poll_interval_s": timing.slow_poll_interval_s,
        "config_poll_interval_s": timing.config_poll_interval_s,
        "poll_requests_per_s": round(schedule.requests_per_second(), 3),
        "request_period_s": timing.request_period_s,
        "bitrate": BITRATE,
    }


def run(samples: int, quiet_s: float) -> dict:
    with bic_stack() as stack:
        client, _seen, _cond = connect(stack.broker, "bench-requester")
        watcher, wseen, wcond = connect(stack.broker, "admin")
        watcher.subscribe("canbridge/bic/0/#", qos=1)
        try:
            wait_gateway_up(stack, wseen, wcond)
            load = bus_load(stack.listener, quiet_s)
            latency = setpoint_latency(stack.listener, client, samples)
        finally:
            client.loop_stop()
            watcher.loop_stop()
    return {"setup": polling_setup(), "latency": latency, "bus_load": load}


def latency_rows(what: str, lat: dict, per: str) -> list[tuple[str, str]]:
    """Table rows of a ``latency_stats`` result: percentiles, max, share over the goal."""
    goal = lat["goal_p99_ms"]
    verdict = "met" if lat["goal_met"] else "NOT met"
    return [
        (f"{what} p50", f"{lat['p50_ms']:.2f} ms"),
        (f"{what} p90", f"{lat['p90_ms']:.2f} ms"),
        (f"{what} p99", f"{lat['p99_ms']:.2f} ms (goal < {goal:g} ms: {verdict})"),
        (f"{what} max", f"{lat['max_ms']:.2f} ms"),
        (f"took >= {goal:g} ms", f"{lat['over_goal_pct']} % of {per}"),
    ]


def format_rows(rows: list[tuple[str, str]]) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def write_result(path: Path, result: dict, text: str) -> None:
    """Write the JSON result and print its table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(text)
    print(f"written {path}")


def table(result: dict) -> str:
    lat, load = result["latency"], result["bus_load"]
    return format_rows(
        [
            *latency_rows("setpoint -> CAN frame", lat, "setpoints"),
            ("waited behind a request", f"{lat['waited_pct']} % of setpoints"),
            ("first setpoint (writes the window)", f"{lat['first_setpoint_ms']} ms"),
            ("samples / lost", f"{lat['samples']} / {lat['lost']}"),
            ("polling frames/s", f"{load['frames_per_s']}"),
            ("polling bus load @250k", f"{load['bus_load_pct']} %"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bic")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--quiet-s", type=float, default=12.0)
    parser.add_argument("--flood-trials", type=int, default=50, help="0 = no flood benchmark")
    parser.add_argument("--flood-rate", type=float, default=1000.0)
    args = parser.parse_args(argv)
    result = run(args.samples, args.quiet_s)
    write_result(RESULTS, result, table(result))
    if args.flood_trials:
        from bench import bic_flood  # here: bic_flood imports this module

        return bic_flood.main(["--trials", str(args.flood_trials), "--rate", str(args.flood_rate)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
