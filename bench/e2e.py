"""End-to-end latency bench: meter message -> charge controller -> gateway -> CAN setpoint frame.

Run from the repo root: ``python -m bench.e2e`` (``--samples N``). Starts a real mosquitto with
the project config, the BIC simulator and the gateway on a private udp_multicast bus (the pieces
of ``bench.bic``) and the real charge controller, all as their own processes with their own
MQTT users. The bench itself plays the smart meter (user ``sim``, Tasmota JSON on the
controller's default meter topic, QoS 0 like a real meter) and listens on the CAN bus.

Each sample is one meter message asking for a new charge power (300-1500 W, a different value
each time, within one slew step of the last); it is timed from just before ``publish`` to the
arrival of the gateway's IOUT_SET write frame at the bench's bus listener (one clock). Between
samples the bench waits a random 50-150 ms so the messages land anywhere in the gateway's poll
cycle. The time therefore includes two broker hops, the controller's decision, the gateway's
queueing behind an in-flight poll request and the manual's 20 ms request pacing. It is split
in two hops at the moment the bench (subscribed like the gateway) receives the controller's
``set/power``: meter -> ``set/power`` (broker, controller, broker) and ``set/power`` -> frame
(gateway, pacing, bus).

What is held fixed so that every sample is a write, not a control decision: the simulated
unit's dead time is an hour (its measured power stays 0 W, so "measured power - error" is the
asked value), the controller's dead-time gate (``settle_s``) and meter latency are 0 and its
follow tolerance is its maximum (the battery "not following" is the point of that setting, not
of this bench), its ramp lead is off (a run of similar steps would otherwise be aimed ahead,
and the next sample may then need no write), and so are jump confirmation and the transit rule
(a step over 300 W would wait a sample; a unit that never moves looks like one on its way).
Gateway, broker and everything on the path are at their defaults.

Second part, Nagle's cost on its own: a service built on ``shared.mqtt_client`` answers each
request at once and gets ``BURST`` requests back to back; timed to the last answer, alternately
with TCP_NODELAY (as every service now sets it) and with it cleared on that service's socket
(as before). Without it, an answer sent while the previous one is still unacknowledged waits
for the broker's delayed ACK (~40 ms on Linux).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import structlog

from bench.bic import (
    IOUT_SET_WRITE,
    REQUEST_ID,
    REQUEST_PERIOD_S,
    BicStack,
    BusListener,
    bic_stack,
    connect,
    format_rows,
    latency_rows,
    latency_stats,
    polling_setup,
    wait_gateway_up,
    write_result,
)
from services.broker_setup.local_broker import LocalBroker
from services.sim.meter.payloads import render
from shared.mqtt_client import MqttClient

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

RESULTS = Path(__file__).parent / "results" / "e2e.json"
GOAL_P99_MS = 25.0  # issue #11 item 7, the 20 ms request pacing included
METER_TOPIC = "sim/meter/SENSOR"  # the controller's default meter source (Tasmota SML)
SET_POWER = "canbridge/bic/0/set/power"
MIN_W, MAX_W = 300.0, 1500.0
STEP_W = (60.0, 400.0)  # change per sample: always a write, never slew-limited (500 W)

CONTROLLER_ENV = {
    "CANBRIDGE_CONTROL__SETTLE_S": "0",
    "CANBRIDGE_CONTROL__METER_LATENCY_S": "0",
    "CANBRIDGE_CONTROL__FOLLOW_TOLERANCE_W": "2000",
    # the bench's steps of 60-400 W look like a ramp now and then; aiming ahead of it can put
    # the next asked value within min_change_w of that write: no write, a lost sample
    "CANBRIDGE_CONTROL__RAMP_LEAD_S": "0",
    # steps of more than 300 W would wait a sample for confirmation, and with the unit never
    # moving every setpoint looks like a battery still on its way (transit rule): both off
    "CANBRIDGE_CONTROL__CONFIRM_JUMP_W": "0",
    "CANBRIDGE_CONTROL__TRANSIT_W": "0",
}
SIM_ENV = {"CANBRIDGE_DEAD_TIME_S": "3600"}  # the unit never moves: measured power stays 0 W
BURST = 3
REQUEST_TOPIC = "canbridge/api/bench/request"
REPLY_TOPIC = "canbridge/api/bench/reply"


class Arrivals:
    """Arrival times (perf_counter) of the messages on one topic, as seen by an MQTT client."""

    def __init__(self, client: mqtt.Client, topic: str) -> None:
        self.times: list[float] = []
        self.cond = threading.Condition()
        client.message_callback_add(topic, self._on_message)
        client.subscribe(topic, qos=1)

    def _on_message(self, _client, _userdata, _msg) -> None:
        with self.cond:
            self.times.append(time.perf_counter())
            self.cond.notify_all()

    def nth_after(self, t: float, n: int, timeout: float) -> float | None:
        """Arrival time of the ``n``-th message (1 = first) at or after ``t``."""

        def found() -> float | None:
            later = [x for x in self.times[-n - 8 :] if x >= t]
            return later[n - 1] if len(later) >= n else None

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout)
            return found()


def next_power(rng: random.Random, last: float) -> float:
    """A new charge power within one slew step of ``last`` and inside [MIN_W, MAX_W]."""
    step = rng.uniform(*STEP_W)
    up = last + step <= MAX_W and (last - step < MIN_W or rng.random() < 0.5)
    return round(last + step if up else last - step)


def is_iout_write(m) -> bool:
    return m.arbitration_id == REQUEST_ID and bytes(m.data[:2]) == IOUT_SET_WRITE


def last_iout_write(listener: BusListener) -> bytes | None:
    """The data of the latest IOUT_SET write frame on the bus so far."""
    with listener.cond:
        return next(
            (bytes(m.data) for _t, m in reversed(listener.frames) if is_iout_write(m)), None
        )


def measure(stack: BicStack, meter: mqtt.Client, powers: Arrivals, samples: int) -> dict:
    listener = stack.listener
    rng = random.Random(7)

    def sample(power_w: float) -> tuple[float, float | None]:
        before = last_iout_write(listener)
        t0 = time.perf_counter()
        meter.publish(METER_TOPIC, render("tasmota", -power_w), qos=0)  # export = charge
        # the next IOUT_SET write with a new value (each sample asks for another current)
        return t0, listener.wait_frame(t0, lambda m: is_iout_write(m) and m.data != before, 2.0)

    # warm-up: the controller needs a battery reading and fresh samples, the gateway writes
    # the battery window with the first setpoint (reported by bench.bic); not counted
    power = MIN_W
    deadline = time.monotonic() + 60
    warm = 0
    while warm < 3:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no setpoint frame after 60 s of meter samples; see {stack.work}")
        power = next_power(rng, power)
        warm += sample(power)[1] is not None
        time.sleep(0.1)

    total: list[float] = []
    to_setpoint: list[float] = []
    to_frame: list[float] = []
    waited = lost = 0
    for _ in range(samples):
        time.sleep(rng.uniform(0.05, 0.15))
        power = next_power(rng, power)
        t0, t1 = sample(power)
        if t1 is None:
            lost += 1
            continue
        total.append((t1 - t0) * 1000)
        waited += listener.request_before(t1, REQUEST_PERIOD_S + 0.0005)
        mid = powers.nth_after(t0, 1, 1.0)
        if mid is not None and mid <= t1:
            to_setpoint.append((mid - t0) * 1000)
            to_frame.append((t1 - mid) * 1000)
    return {
        "latency": {
            **latency_stats(total, GOAL_P99_MS),
            "lost": lost,
            "waited_pct": round(100 * waited / len(total), 2),
        },
        "hops": {
            "meter_to_set_power": latency_stats(to_setpoint, GOAL_P99_MS),
            "set_power_to_frame": latency_stats(to_frame, GOAL_P99_MS),
        },
    }


def set_nodelay(sock: SocketLike | None, on: bool) -> None:
    assert isinstance(sock, socket.socket), "connected over TCP"
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(on))


def burst_replies(broker: LocalBroker, bursts: int) -> dict:
    """Nagle's cost, isolated: a service (``shared.mqtt_client``) answers each request at once;
    requests come ``BURST`` back to back, timed until the last answer arrives. Measured with
    TCP_NODELAY as the service sets it and with it switched off again on the service's socket
    (as before), alternating burst by burst so both see the same machine load."""
    service = MqttClient(
        broker.mqtt_settings("api"), "api", broker.base_topic, client_id="bench-replier"
    )
    service.subscribe(REQUEST_TOPIC, lambda msg: service.publish(REPLY_TOPIC, msg.payload))
    service.start()
    requester, _seen, _cond = connect(broker, "bench-requester")
    replies = Arrivals(requester, REPLY_TOPIC)
    try:
        if not service.wait_ready(30):
            raise RuntimeError("burst service did not connect")
        time.sleep(0.5)  # the requester's SUBSCRIBE is acknowledged well before this
        set_nodelay(requester.socket(), True)  # the requests themselves are never held back
        served = service._client.socket()
        times: dict[bool, list[float]] = {True: [], False: []}
        lost = 0
        for i in range(2 * bursts):
            nodelay = i % 2 == 0
            set_nodelay(served, nodelay)
            time.sleep(0.1)  # nothing of the last burst is still unacknowledged
            t0 = time.perf_counter()
            for k in range(BURST):
                requester.publish(REQUEST_TOPIC, str(k), qos=0)
            last = replies.nth_after(t0, BURST, 2.0)
            if last is None:
                lost += 1
                continue
            times[nodelay].append((last - t0) * 1000)
    finally:
        requester.loop_stop()
        service.stop()
    return {
        "burst": BURST,
        "lost": lost,
        "with_nodelay": latency_stats(times[True], GOAL_P99_MS),
        "without_nodelay": latency_stats(times[False], GOAL_P99_MS),
    }


def run(samples: int, bursts: int) -> dict:
    load_before = os.getloadavg()
    with bic_stack(sim=SIM_ENV) as stack:
        stack.start(
            "services.charge_controller",
            "charge-controller",
            {
                **CONTROLLER_ENV,
                "CANBRIDGE_HEALTH_FILE": str(stack.work / "cc-hb"),
                "CANBRIDGE_RUNTIME_STATE_FILE": str(stack.work / "cc-runtime.json"),
            },
            "controller",
        )
        meter, _seen, _cond = connect(stack.broker, "sim-meter")
        watcher, wseen, wcond = connect(stack.broker, "admin")
        watcher.subscribe("canbridge/bic/0/state", qos=1)
        powers = Arrivals(watcher, SET_POWER)
        try:
            wait_gateway_up(stack, wseen, wcond)
            result = measure(stack, meter, powers, samples)
            result["burst_replies"] = burst_replies(stack.broker, bursts)
        finally:
            meter.loop_stop()
            watcher.loop_stop()
    return {
        "setup": {
            **polling_setup(),
            "path": "meter (QoS 0) -> broker -> charge-controller -> broker (set/power, QoS 1) "
            "-> bic-gateway -> CAN IOUT_SET write",
            "controller_overrides": CONTROLLER_ENV,
            "simulator_overrides": SIM_ENV,
            # tails grow with the machine's load (other processes competing for the CPU)
            "cpus": os.cpu_count(),
            "load_avg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        **result,
    }


def spread(stats: dict) -> str:
    return f"{stats['p50_ms']:.2f} / {stats['p90_ms']:.2f} / {stats['mean_ms']:.2f} ms"


def table(result: dict) -> str:
    lat, hops = result["latency"], result["hops"]
    first, second = hops["meter_to_set_power"], hops["set_power_to_frame"]
    burst = result["burst_replies"]
    on, off = burst["with_nodelay"], burst["without_nodelay"]
    return format_rows(
        [
            *latency_rows("meter -> CAN frame", lat, "samples"),
            ("  meter -> set/power p50 / p99", f"{first['p50_ms']:.2f} / {first['p99_ms']:.2f} ms"),
            (
                "  set/power -> frame p50 / p99",
                f"{second['p50_ms']:.2f} / {second['p99_ms']:.2f} ms",
            ),
            ("waited behind a request", f"{lat['waited_pct']} % of samples"),
            ("samples / lost", f"{lat['samples']} / {lat['lost']}"),
            (f"{burst['burst']} back-to-back answers, TCP_NODELAY p50/p90/mean", spread(on)),
            ("  the same with Nagle (no TCP_NODELAY)", spread(off)),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--bursts", type=int, default=200, help="per TCP_NODELAY setting")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # the in-process burst service logs its connect/stop: not part of the table
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = run(args.samples, args.bursts)
    write_result(args.out, result, table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
