"""`python -m services.wican_soc replay FILE --profile NAME`: decode a recording offline.

FILE holds one WiCAN `can/rx` message per line (what `record` writes, or the adapter's
own JSON). The adapter's `ts` (ms) drives the ISO-TP timeouts. Every Flow Control,
dropped transfer and decoded value is printed; exit 0 when at least one SoC decoded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from services.wican_soc.profiles import Profile, ProfileError, load_profiles
from services.wican_soc.reader import Dropped, Outcome, Reading, SendFrame, VehicleReader
from shared.contract.topics import device_of
from shared.wican_payload import parse_rx

LINE_STEP_S = 0.01  # time between lines without a `ts`


def timed_lines(lines: Iterable[str], device: str | None) -> Iterator[tuple[int, float, str]]:
    """(line number, seconds, text) of the non-empty lines of `device` (None: all)."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            yield number, number * LINE_STEP_S, text  # parse_rx reports it
            continue
        recorded_from = message.get("topic") if isinstance(message, dict) else None
        if device and recorded_from is not None and device_of(str(recorded_from)) != device:
            continue
        ts = message.get("ts") if isinstance(message, dict) else None
        seconds = ts / 1000 if isinstance(ts, int | float) else number * LINE_STEP_S
        yield number, seconds, text


def describe(outcome: Outcome, profile: Profile) -> list[str]:
    if isinstance(outcome, SendFrame):
        frame = outcome.frame
        return [f"flow control -> 0x{frame.id:X}: {frame.data.hex(' ')}"]
    if isinstance(outcome, Dropped):
        return [f"dropped: {outcome.reason}"]
    lines = [f"reply ({len(outcome.payload)} bytes): {outcome.payload.hex(' ')}"]
    units = {spec.name: spec.unit for spec in profile.values}
    for name, value in outcome.result.values.items():
        lines.append(f"  {name} = {value:.6g} {units[name]}")
    for rejected in outcome.result.rejected:
        lines.append(f"  {rejected.name} rejected: {rejected.reason}")
    return lines


def replay(lines: Iterable[str], profile: Profile, out: TextIO, device: str | None = None) -> int:
    """Decode `lines`; returns how many replies gave an accepted SoC."""
    reader = VehicleReader(profile)
    socs = 0
    for number, now, text in timed_lines(lines, device):
        try:
            frames = parse_rx(text)
        except ValueError as exc:
            print(f"line {number}: skipped: {exc}", file=out)
            continue
        for outcome in [*reader.poll(now), *reader.feed(frames, now)]:
            for line in describe(outcome, profile):
                print(f"line {number}: {line}", file=out)
            if isinstance(outcome, Reading) and outcome.result.soc is not None:
                socs += 1
    for outcome in reader.poll(float("inf")):
        for line in describe(outcome, profile):
            print(f"end: {line}", file=out)
    return socs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.wican_soc replay")
    parser.add_argument("file", type=Path, help="JSON lines of can/rx messages")
    parser.add_argument("--profile", required=True, help="profile name (file name without .yaml)")
    parser.add_argument("--profiles-dir", type=Path, help="folder with your own profiles")
    parser.add_argument("--device", help="only lines recorded from this WiCAN device id")
    args = parser.parse_args(argv)
    try:
        profiles = load_profiles(args.profiles_dir)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.profile not in profiles:
        print(
            f"error: unknown profile {args.profile!r}; known: {', '.join(profiles)}",
            file=sys.stderr,
        )
        return 2
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    socs = replay(text.splitlines(), profiles[args.profile], sys.stdout, args.device)
    print(f"{socs} SoC reading(s) decoded with profile {args.profile}")
    return 0 if socs else 1
