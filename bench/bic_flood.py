"""BIC gateway under a command flood: how late is the safe idle, how long does polling stall?

Part of ``make bench-bic`` (``python -m bench.bic``; alone: ``python -m bench.bic_flood``). A real
mosquitto, the simulator and the gateway (default timing: measurements polled every 1 s) on a
private udp_multicast bus; the bench listens on the bus itself.

An admin client in a process of its own floods at ``--rate`` messages/s (default 1,000; QoS 1):
``set/power`` (a new discharge value each time, so each one is a write), ``set/state`` 0/1 and
CLI-like ``set/cmd`` reads. Meanwhile
the bench, as the charge controller, says ``online``, waits until a flood setpoint is applied
(REVERSE_IOUT_SET written with a discharge current; DIRECTION_CTRL may be held back by the wear
guard), waits a random 0.1..0.6 s, and says ``offline``:

* **safe idle delay**: from just before publishing ``offline`` to the safe idle's first write frame
  on the bus (REVERSE_IOUT_SET at the minimum current, or DIRECTION_CTRL = 0); goal < 100 ms;
  repeated ``--trials`` times, for at least ``--min-s`` seconds of flood;
* **polling stall**: the longest gap between two READ_VOUT poll requests during the flood
  (nominal 1 s: the CLI flood avoids commands that read READ_VOUT); goal < 2 s.

``--load N`` adds N processes that do nothing but spin the CPU, at ``--load-nice`` (default 10):
other work on the same host. At nice 10 they stand for work with less CPU priority than the
broker and the gateway (what ``cpu_shares`` gives them in compose.yaml); at ``--load-nice 0``
they compete on equal terms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import can
import paho.mqtt.client as mqtt

from bench.bic import BusListener, connect, percentile, private_bus, start
from services.bic_gateway.can_bus import id_filter
from services.broker_setup.local_broker import LocalBroker

RESULTS = Path(__file__).parent / "results" / "bic_flood.json"
REQUEST_ID = 0x000C0300
READ_VOUT = b"\x60\x00"
REVERSE_IOUT_SET = b"\x30\x01"
DIRECTION_CTRL = b"\x00\x01"
GOAL_SAFE_IDLE_MS = 100.0
GOAL_POLL_GAP_S = 2.0
BASE = "canbridge/bic/0"
STATUS = "canbridge/charge-controller/status"
CLI_READS = ("tempread", "faultread", "statusread", "acvread", "fanread")


def written(msg: can.Message) -> tuple[bytes, int] | None:
    """(register code, value) of a write request to unit 0; None for anything else."""
    data = bytes(msg.data)
    if msg.arbitration_id != REQUEST_ID or len(data) < 3:
        return None
    return data[:2], int.from_bytes(data[2:], "little")


def safe_idle_frame(msg: can.Message) -> bool:
    write = written(msg)
    if write is None:
        return False
    code, value = write
    if code == REVERSE_IOUT_SET:
        return value < 100  # below 1 A: the minimum current; the flood asks for 5.7..17 A
    return code == DIRECTION_CTRL and value == 0


def discharge_frame(msg: can.Message) -> bool:
    """A flood setpoint applied: REVERSE_IOUT_SET written with a discharge current (>= 1 A)."""
    write = written(msg)
    return write is not None and write[0] == REVERSE_IOUT_SET and write[1] >= 100


def flood_main(host: str, port: int, password: str, rate: float, stop, sent) -> None:
    """The flooder, in a process of its own (an automation or an attacker is another client;
    in the bench's process its publishing took the GIL from the frame listener and the
    controller's ``offline``, which then measured the bench, not the gateway)."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="bench-flood", protocol=mqtt.MQTTv5
    )
    client.username_pw_set("admin", password)
    client.connect(host, port)
    client.loop_start()
    reads = itertools.cycle(CLI_READS)
    period = 3 / rate  # three messages per round
    next_round = time.perf_counter()
    count = 0
    for i in itertools.count():
        if stop.wait(max(0.0, next_round - time.perf_counter())):
            break
        next_round += period
        client.publish(f"{BASE}/set/power", str(-300 - 10 * (i % 60)), qos=1)
        client.publish(f"{BASE}/set/state", str(i % 2), qos=1)
        cmd = json.dumps({"id": f"b{i}", "cmd": next(reads)})
        client.publish(f"{BASE}/set/cmd", cmd, qos=1)
        count += 3
        if count % 300 == 0:
            sent.value = count
    sent.value = count
    client.loop_stop()
    client.disconnect()


def stop_processes(stop, processes: list, timeout: float) -> None:
    """Ask the bench's helper processes to stop (their shared event); kill a late one."""
    stop.set()
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()


def spin_main(nice: int, stop) -> None:
    """A CPU hog: other work on the host, at the given niceness."""
    os.nice(nice)
    while not stop.is_set():
        for _ in range(100_000):
            pass


class Load:
    """``count`` spinning processes at niceness ``nice`` (none when ``count`` is 0)."""

    def __init__(self, count: int, nice: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._processes = [
            context.Process(target=spin_main, args=(nice, self._stop), daemon=True)
            for _ in range(count)
        ]
        for process in self._processes:
            process.start()

    def stop(self) -> None:
        stop_processes(self._stop, self._processes, 5)


class Flood:
    def __init__(self, broker: LocalBroker, rate: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._sent = context.Value("q", 0)
        self._process = context.Process(
            target=flood_main,
            args=(broker.host, broker.port, broker.passwords["admin"], rate, self._stop,
                  self._sent),
            daemon=True,
        )  # fmt: skip

    def start(self) -> Flood:
        self.started = time.perf_counter()
        self._process.start()
        return self

    @property
    def sent(self) -> int:
        return int(self._sent.value)

    def stop(self) -> float:
        stop_processes(self._stop, [self._process], 15)
        return time.perf_counter() - self.started


def run(
    trials: int,
    rate: float,
    min_s: float = 30.0,
    seed: int = 1,
    keep: bool = False,
    load: int = 0,
    load_nice: int = 10,
) -> dict:
    broker = LocalBroker().start()
    work = Path(broker.root) / "bench"
    work.mkdir()
    bus_env = private_bus()
    procs = [
        start("services.sim.bic", "sim", broker,
              {**bus_env, "CANBRIDGE_HEALTH_FILE": str(work / "sim-hb")}, work / "sim.log"),
        start("services.bic_gateway", "bic-gateway", broker,
              {**bus_env, "CANBRIDGE_HEALTH_FILE": str(work / "gw-hb"),
               "CANBRIDGE_STATE_FILE": str(work / "state.json"),
               "CANBRIDGE_WATCHDOG__TIMEOUT_S": "3600"}, work / "gateway.log"),
    ]  # fmt: skip
    listen_bus = can.Bus(
        interface="udp_multicast",
        channel=bus_env["CANBRIDGE_CAN__CHANNEL"],
        port=int(bus_env["CANBRIDGE_CAN__PORT"]),
        can_filters=[id_filter(0x000C0300)],
    )
    listener = BusListener(listen_bus)
    controller, _seen, _cond = connect(broker, "charge-controller")
    watcher, wseen, wcond = connect(broker, "admin")
    watcher.subscribe(f"{BASE}/state", qos=1)
    rng = random.Random(seed)
    delays: list[float] = []
    read_delays: list[float] = []  # to the moment the bench had read the frame (upper bound)
    trial_times: list[tuple[float, float]] = []  # (offline published, frame on the bus), wall
    lost = 0
    flood: Flood | None = None
    hogs = Load(load, load_nice)
    try:
        with wcond:
            if not wcond.wait_for(lambda: f"{BASE}/state" in wseen, 30):
                raise RuntimeError(f"gateway did not come up; see {work}")
        flood = Flood(broker, rate).start()
        t_flood = time.perf_counter()
        done = 0
        while done < trials or time.perf_counter() - t_flood < min_s:
            done += 1
            t_online = time.perf_counter()
            controller.publish(STATUS, "online", qos=1, retain=True)
            if listener.wait_frame(t_online, discharge_frame, 10.0) is None:
                lost += 1
                continue
            time.sleep(rng.uniform(0.1, 0.6))  # land anywhere in what the worker is doing
            t0 = time.perf_counter()
            wall0 = time.time()
            controller.publish(STATUS, "offline", qos=1, retain=True)
            frame = listener.wait_message(t0, safe_idle_frame, 5.0)
            if frame is None:
                lost += 1
                continue
            # the frame's kernel receive time on the bench's bus socket: when it was on the
            # bus, not when the bench's Python got round to reading it
            delays.append((frame.timestamp - wall0) * 1000)
            trial_times.append((wall0, frame.timestamp))
            read_delays.append((time.perf_counter() - t0) * 1000)
        t_end = time.perf_counter()
        flood_s = flood.stop()
        sent = flood.sent
        flood = None
        with listener.cond:
            polls = [
                t
                for t, m in listener.frames
                if t_flood <= t <= t_end
                and m.arbitration_id == REQUEST_ID
                and bytes(m.data) == READ_VOUT
            ]
    finally:
        if flood is not None:
            flood.stop()
        hogs.stop()
        controller.publish(STATUS, "", qos=1, retain=True)
        controller.loop_stop()
        watcher.loop_stop()
        listener.stop()
        listen_bus.shutdown()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        if keep:
            (work / "trials.json").write_text(json.dumps(trial_times))
            print(f"logs kept in {work} (trials.json: offline and safe idle frame, wall clock)")
        else:
            shutil.rmtree(broker.root, ignore_errors=True)
    gaps = [b - a for a, b in itertools.pairwise([t_flood, *polls, t_end])]
    return {
        "setup": {
            "flood": "set/power (new discharge value each), set/state 0/1, set/cmd reads; "
            f"QoS 1, admin, {rate:g} messages/s",
            "poll_interval_s": 1.0,
            "trials": done,
            "load": f"{load} spinning processes at nice {load_nice}" if load else "none",
        },
        "flood": {
            "messages": sent,
            "seconds": round(flood_s, 1),
            "per_s": round(sent / flood_s, 1),
        },
        "safe_idle": {
            "samples": len(delays),
            "lost": lost,
            "p50_ms": round(statistics.median(delays), 2) if delays else None,
            "p99_ms": round(percentile(delays, 99), 2) if delays else None,
            "max_ms": round(max(delays), 2) if delays else None,
            "goal_ms": GOAL_SAFE_IDLE_MS,
            "goal_met": bool(delays) and not lost and max(delays) < GOAL_SAFE_IDLE_MS,
            "timed_by": "kernel receive timestamp of the frame on the bench's bus socket",
            "read_max_ms": round(max(read_delays), 2) if read_delays else None,
        },
        "polling": {
            "read_vout_requests": len(polls),
            "window_s": round(t_end - t_flood, 1),
            "max_gap_s": round(max(gaps), 3),
            "p99_gap_s": round(percentile(gaps, 99), 3),
            "goal_max_gap_s": GOAL_POLL_GAP_S,
            "goal_met": max(gaps) < GOAL_POLL_GAP_S,
        },
    }


def table(result: dict) -> str:
    idle, poll, flood = result["safe_idle"], result["polling"], result["flood"]
    rows = [
        ("flood", f"{flood['messages']} messages in {flood['seconds']} s ({flood['per_s']}/s)"),
        ("other load on the host", result["setup"]["load"]),
        ("offline -> safe idle frame p50", f"{idle['p50_ms']} ms"),
        ("offline -> safe idle frame p99", f"{idle['p99_ms']} ms"),
        ("offline -> safe idle frame max", f"{idle['max_ms']} ms (goal < {GOAL_SAFE_IDLE_MS:g} ms: "
                                           f"{'met' if idle['goal_met'] else 'NOT met'})"),
        ("safe idle samples / lost", f"{idle['samples']} / {idle['lost']}"),
        ("READ_VOUT polls during flood", f"{poll['read_vout_requests']} in {poll['window_s']} s"),
        ("longest polling gap", f"{poll['max_gap_s']} s (goal < {GOAL_POLL_GAP_S:g} s: "
                                f"{'met' if poll['goal_met'] else 'NOT met'})"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bic_flood")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--min-s", type=float, default=30.0, help="flood at least this long")
    parser.add_argument("--rate", type=float, default=1000.0, help="flood messages per second")
    parser.add_argument("--keep", action="store_true", help="keep the broker/service logs")
    parser.add_argument("--load", type=int, default=0, help="CPU-spinning processes beside")
    parser.add_argument("--load-nice", type=int, default=10, help="their niceness (0..19)")
    args = parser.parse_args(argv)
    result = run(
        args.trials, args.rate, args.min_s, keep=args.keep, load=args.load,
        load_nice=args.load_nice,
    )  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
