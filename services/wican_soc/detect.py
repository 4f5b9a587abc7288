"""Which profile fits an unknown car: probe plans, one probe's replies, and the ranking.

Pure (explicit `now`); `detect_cli` does the MQTT. Only read requests are ever planned:
services 0x01 (OBD data), 0x21 and 0x22 (read data by local / common identifier). A profile
that needs anything else (another service, or init frames such as a session change) is not
probed and is reported as skipped. Profiles that share a request (same id, same frame) are
asked once and their decoders all read the one reply. The ISO-TP Flow Control a multi-frame
reply asks for is sent as well: it is part of receiving, not a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.wican_soc.decode import DecodeResult
from services.wican_soc.profiles import Profile
from services.wican_soc.reader import Dropped, Reading, SendFrame, VehicleReader
from shared.isotp import is_negative_response, nrc_name
from shared.wican_payload import CanFrame

#: OBD-II data, ReadDataByLocalIdentifier, ReadDataByIdentifier: nothing else is sent
READ_SERVICES = frozenset({0x01, 0x21, 0x22})
#: after `7F <sid> 78` (response pending) the ECU may take this long (UDS P2*)
PENDING_TIMEOUT_S = 5.0
CONFIDENCE_RANK = {"captured": 2, "cross-checked": 1, "single-source": 0}


@dataclass(frozen=True)
class Probe:
    """One request frame and the profiles whose decoders read its reply."""

    request: CanFrame
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


def read_only_problem(profile: Profile) -> str | None:
    """Why `profile` must not be probed by detect, or None."""
    if profile.request[0] not in READ_SERVICES:
        return f"request service 0x{profile.request[0]:02X} is not a read service"
    if profile.init_frames:
        return "needs init frames before its request (not a read request)"
    return None


def plan(profiles: dict[str, Profile]) -> tuple[list[Probe], list[Skipped]]:
    """The probes for `profiles` (one per distinct request frame) and what was left out."""
    groups: dict[CanFrame, list[str]] = {}
    skipped: list[Skipped] = []
    for key, profile in sorted(profiles.items()):
        problem = read_only_problem(profile)
        if problem is not None:
            skipped.append(Skipped(key, problem))
            continue
        frame = CanFrame(profile.request_id, profile.extended, profile.request_frame())
        groups.setdefault(frame, []).append(key)
    return [Probe(frame, tuple(keys)) for frame, keys in groups.items()], skipped


@dataclass
class Answer:
    """What one profile made of the reply to its probe."""

    key: str
    result: DecodeResult | None = None  # None: no complete reply
    payload: bytes = b""
    dropped: list[str] = field(default_factory=list)

    @property
    def plausible(self) -> bool:
        return self.result is not None and self.result.soc is not None

    @property
    def negative(self) -> str | None:
        """`0x31 requestOutOfRange` for a negative response, else None."""
        if is_negative_response(self.payload):
            return f"0x{self.payload[2]:02X} {nrc_name(self.payload[2])}"
        return None


class ProbeRun:
    """Sends nothing itself: feed it the rx frames after the probe went out at `sent_at`."""

    def __init__(
        self,
        probe: Probe,
        profiles: dict[str, Profile],
        sent_at: float,
        answer_timeout_s: float,
    ) -> None:
        self.probe = probe
        self.readers = {key: VehicleReader(profiles[key]) for key in probe.keys}
        self.answers = {key: Answer(key) for key in probe.keys}
        self.deadline = sent_at + answer_timeout_s

    def feed(self, frames: Iterable[CanFrame], now: float) -> list[CanFrame]:
        """Process one rx message; returns the Flow Control frames to send (each once)."""
        frames = list(frames)
        to_send: list[CanFrame] = []
        for key, reader in self.readers.items():
            for outcome in reader.feed(frames, now):
                if isinstance(outcome, SendFrame):
                    if outcome.frame not in to_send:
                        to_send.append(outcome.frame)
                else:
                    self._note(key, outcome, now)
        return to_send

    def _note(self, key: str, outcome: Reading | Dropped, now: float) -> None:
        answer = self.answers[key]
        if isinstance(outcome, Dropped):
            answer.dropped.append(outcome.reason)
            return
        if outcome.result.response_pending:
            self.deadline = max(self.deadline, now + PENDING_TIMEOUT_S)
            return
        if answer.result is None or (outcome.result.soc is not None and not answer.plausible):
            answer.result, answer.payload = outcome.result, outcome.payload

    def finished(self, now: float) -> bool:
        """Every decoder has a reply, or the answer time is over."""
        return now >= self.deadline or all(a.result is not None for a in self.answers.values())


def score(answer: Answer, profile: Profile) -> tuple[int, float, int]:
    """Higher is a better fit: plausible SoC, share of values accepted, confidence."""
    if answer.result is None:
        return (0, 0.0, CONFIDENCE_RANK[profile.confidence])
    accepted = len(answer.result.values) / len(profile.values)
    return (2 if answer.plausible else 1, accepted, CONFIDENCE_RANK[profile.confidence])


def ranked(answers: Iterable[Answer], profiles: dict[str, Profile]) -> list[Answer]:
    """Best fit first; profiles without any answer keep their plan order at the end."""
    return sorted(answers, key=lambda a: score(a, profiles[a.key]), reverse=True)


def describe(answer: Answer, profile: Profile) -> str:
    """One report line for `answer`."""
    head = f"{answer.key} ({profile.confidence}, soc = {profile.soc_is})"
    result = answer.result
    if result is None:
        why = f"; dropped: {answer.dropped[-1]}" if answer.dropped else ""
        return f"{head}: no answer{why}"
    if answer.negative is not None:
        return f"{head}: refused, negative response {answer.negative}"
    units = {spec.name: spec.unit for spec in profile.values}
    parts = [f"{name} {value:.4g} {units[name]}" for name, value in result.values.items()]
    parts += [f"{r.name} rejected ({r.reason})" for r in result.rejected]
    verdict = "PLAUSIBLE" if answer.plausible else "answered, not plausible"
    return f"{head}: {verdict}: " + "; ".join(parts)
