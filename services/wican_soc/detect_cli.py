"""`python -m services.wican_soc detect --device ID`: find the profile that fits a car.

With the car's adapter online (car awake or charging), sends the read request of every
candidate profile one at a time, `--gap-s` apart, waits up to `--timeout-s` for each reply,
and prints the profiles ranked by how plausible their decoded values are. Every rx message
seen meanwhile is saved as a recording that `replay` reads (`--out`). Only read services
(0x01, 0x21, 0x22) are sent, plus the Flow Control a multi-frame reply asks for; see
`detect.py`. Uses the wican-soc settings (broker, user, password, profiles_dir).
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import paho.mqtt.client as mqtt

from services.wican_soc.detect import Answer, Probe, ProbeRun, describe, plan, ranked
from services.wican_soc.profiles import Profile, ProfileError, load_profiles
from services.wican_soc.record import recording_line
from shared.contract.topics import rx_topic, tx_topic
from shared.wican_payload import CanFrame, parse_rx, tx_payload

SUBSCRIBE_TIMEOUT_S = 10.0
OPTIONS: dict[str, dict] = {
    "--device": {"required": True, "help": "WiCAN device id (from wican/<id>/...)"},
    "--out": {"type": Path, "help": "recording file (default detect-<id>-<time>.jsonl)"},
    "--profiles-dir": {"type": Path, "help": "folder with your own profiles"},
    "--only": {"help": "comma-separated profile names to try (default: all)"},
    "--timeout-s": {"type": float, "default": 2.0, "help": "answer time per request"},
    "--gap-s": {"type": float, "default": 1.0, "help": "pause between requests"},
}


def run_detection(
    probes: list[Probe],
    profiles: dict[str, Profile],
    send: Callable[[CanFrame], None],
    receive: Callable[[float], tuple[str, bytes] | None],
    record: Callable[[str], None],
    timeout_s: float,
    gap_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[Answer]:
    """Probe one request at a time; `receive(wait)` returns (topic, payload) or None."""
    answers: list[Answer] = []
    for index, probe in enumerate(probes):
        if index:
            _drain(receive, record, clock() + gap_s, clock)  # polite spacing, still recording
        send(probe.request)
        run = ProbeRun(probe, profiles, clock(), timeout_s)
        while not run.finished(clock()):
            item = receive(min(0.05, max(0.0, run.deadline - clock())))
            if item is None:
                continue
            topic, payload = item
            line = recording_line(topic, payload)
            if line is not None:
                record(line)
            try:
                frames = parse_rx(payload)
            except ValueError:
                continue
            for frame in run.feed(frames, clock()):
                send(frame)
        answers.extend(run.answers.values())
    return answers


def _drain(receive, record, until: float, clock) -> None:
    while (left := until - clock()) > 0:
        item = receive(min(left, 0.05))
        if item is not None and (line := recording_line(*item)) is not None:
            record(line)


def report(answers: list[Answer], profiles: dict[str, Profile], out: TextIO) -> int:
    """Print the ranking; returns how many profiles decoded a plausible SoC."""
    best = ranked(answers, profiles)
    plausible = [a for a in best if a.plausible]
    print(f"{len(plausible)} of {len(best)} profile(s) decoded a plausible SoC:", file=out)
    for rank, answer in enumerate(best, start=1):
        print(f"{rank:3}. {describe(answer, profiles[answer.key])}", file=out)
    if plausible:
        print(
            f"best fit: {plausible[0].key} - compare its soc with the dashboard before using it",
            file=out,
        )
    return len(plausible)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.wican_soc detect")
    for flag, options in OPTIONS.items():
        parser.add_argument(flag, **options)
    args = parser.parse_args(argv)
    if args.timeout_s <= 0 or args.gap_s < 0:
        print("error: --timeout-s must be positive and --gap-s not negative", file=sys.stderr)
        return 2

    from services.wican_soc.settings import WicanSocSettings
    from shared.logging_setup import configure_logging
    from shared.mqtt_client import MqttClient
    from shared.settings import load_settings

    settings = load_settings(WicanSocSettings)
    configure_logging("wican-soc-detect", settings.log_level, "console", stream=sys.stderr)
    try:
        profiles = load_profiles(args.profiles_dir or settings.profiles_dir)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        wanted = [key.strip() for key in args.only.split(",") if key.strip()]
        unknown = sorted(set(wanted) - set(profiles))
        if unknown:
            print(f"error: unknown profile(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        profiles = {key: profiles[key] for key in wanted}
    probes, skipped = plan(profiles)
    for skip in skipped:
        print(f"not tried: {skip.key}: {skip.reason}", file=sys.stderr)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out or Path(f"detect-{args.device}-{stamp}.jsonl")
    try:
        recording = path.open("a", encoding="utf-8")
    except OSError as exc:
        print(
            f"error: cannot write the recording {path}: {exc.strerror} "
            "(in the container use --out /tmp/detect.jsonl)",
            file=sys.stderr,
        )
        return 2
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    client = MqttClient(
        settings.mqtt,
        "wican-soc",
        settings.base_topic,
        client_id=f"{settings.base_topic}-wican-soc-detect-{os.getpid()}",
        availability=False,
    )

    def on_rx(msg: mqtt.MQTTMessage) -> None:
        inbox.put((msg.topic, bytes(msg.payload)))

    def receive(wait: float) -> tuple[str, bytes] | None:
        try:
            return inbox.get(timeout=wait)
        except queue.Empty:
            return None

    def send(frame: CanFrame) -> None:
        client.publish(tx_topic(args.device), tx_payload([frame]), qos=0)

    def record(line: str) -> None:
        recording.write(line + "\n")

    client.subscribe(rx_topic(args.device), on_rx, qos=0)
    client.start()
    try:
        if not client.subscribed.wait(SUBSCRIBE_TIMEOUT_S):
            print("error: no connection to the broker", file=sys.stderr)
            return 2
        print(
            f"trying {len(probes)} request(s) for {sum(len(p.keys) for p in probes)} "
            f"profile(s) on {args.device}; recording to {path}",
            file=sys.stderr,
        )
        answers = run_detection(probes, profiles, send, receive, record, args.timeout_s, args.gap_s)
    finally:
        client.stop()
        recording.close()
    plausible = report(answers, profiles, sys.stdout)
    print(f"recording: {path} (python -m services.wican_soc replay {path} --profile NAME)")
    return 0 if plausible else 1
