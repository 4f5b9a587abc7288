"""The detect command's logic: which requests it sends, how it reads replies, the ranking."""

from __future__ import annotations

import io
import json

import pytest
from detect_cars import car_entry
from wican_soc.builtin_profiles import builtin_profiles

from services.sim.wican.recorded import RecordedCar, parse_cars
from services.wican_soc.detect import (
    READ_SERVICES,
    Answer,
    ProbeRun,
    plan,
    ranked,
    read_only_problem,
)
from services.wican_soc.detect_cli import report, run_detection
from services.wican_soc.profiles import Profile, RawFrame
from shared.wican_payload import CanFrame, parse_rx, tx_message

PROFILES = builtin_profiles()
DEVICE_RX = "wican/d0d0cafe0001/can/rx"


def service_of(frame: CanFrame, profiles: dict[str, Profile], keys: tuple[str, ...]) -> int:
    profile = profiles[keys[0]]
    head = 1 if profile.extended_address else 0
    return frame.data[head + 1]


def test_every_builtin_is_probed_with_a_read_request_and_shared_requests_once() -> None:
    probes, skipped = plan(PROFILES)
    assert skipped == []
    assert sorted(key for probe in probes for key in probe.keys) == sorted(PROFILES)
    for probe in probes:
        assert service_of(probe.request, PROFILES, probe.keys) in READ_SERVICES
    by_key = {key: probe for probe in probes for key in probe.keys}
    assert by_key["nissan-leaf-ze0"] is by_key["nissan-leaf-ze1"]
    assert by_key["renault-zoe-ph2"] is by_key["nissan-ariya"]
    assert by_key["chevrolet-bolt"] is by_key["chevrolet-volt-ampera"]
    assert by_key["vw-e-up"] is not by_key["vw-meb"]  # same request, other ids
    assert len(probes) < len(PROFILES)


def profile_with(**changes) -> Profile:
    return PROFILES["jaguar-i-pace"].model_copy(update=changes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"request": bytes.fromhex("10 03")}, "service 0x10 is not a read service"),
        ({"request": bytes.fromhex("2E 01 02 03")}, "service 0x2E is not a read service"),
        ({"request": bytes.fromhex("31 01 02 03")}, "service 0x31 is not a read service"),
        ({"request": bytes.fromhex("22 49 10")}, None),
        ({"request": bytes.fromhex("21 01")}, None),
        ({"request": bytes.fromhex("01 5B")}, None),
    ],
)
def test_anything_but_a_read_request_is_never_planned(changes, reason) -> None:
    profile = profile_with(**changes)
    assert read_only_problem(profile) == (f"request {reason}" if reason else None)
    probes, skipped = plan({"x": profile})
    assert (probes == []) is (reason is not None)


def test_profiles_with_init_frames_are_skipped() -> None:
    session = RawFrame(id=0x7E4, data=bytes.fromhex("02 10 03"))
    probes, skipped = plan({"needs-session": profile_with(init_frames=[session])})
    assert probes == []
    assert skipped[0].reason == "needs init frames before its request (not a read request)"


class FakeBus:
    """An adapter with recorded cars behind it, on a fake clock."""

    def __init__(self, cars: list[dict]) -> None:
        self.car = RecordedCar(parse_cars({"cars": cars}))
        self.now = 0.0
        self.sent: list[CanFrame] = []
        self.inbox: list[tuple[str, bytes]] = []

    def clock(self) -> float:
        return self.now

    def send(self, frame: CanFrame) -> None:
        self.sent.append(frame)
        for reply in self.car.on_frame(frame):
            message = {"bus": "0", "type": "rx", "ts": int(self.now * 1000), **tx_message([reply])}
            message["type"] = "rx"
            self.inbox.append((DEVICE_RX, json.dumps(message).encode()))

    def receive(self, wait: float) -> tuple[str, bytes] | None:
        if self.inbox:
            self.now += 0.001
            return self.inbox.pop(0)
        self.now += max(wait, 0.001)
        return None


def detect(bus: FakeBus, profiles=PROFILES, timeout_s=1.0, gap_s=0.5):
    probes, _ = plan(profiles)
    lines: list[str] = []
    answers = run_detection(
        probes, profiles, bus.send, bus.receive, lines.append, timeout_s, gap_s, bus.clock
    )
    return answers, lines


def sent_services(bus: FakeBus) -> set[str]:
    """What every frame sent was: a read request or a Flow Control."""
    kinds = set()
    for frame in bus.sent:
        data = frame.data[1:] if frame.id == 0x6F1 else frame.data
        if data[0] >> 4 == 3:
            kinds.add("flow control")
        else:
            assert data[0] >> 4 == 0, frame
            kinds.add(f"0x{data[1]:02X}")
    return kinds


def test_leaf_capture_is_recognised_and_recorded_for_replay() -> None:
    leaf = PROFILES["nissan-leaf-ze1"]
    bus = FakeBus([car_entry(leaf, "leaf")])
    answers, lines = detect(bus)
    best = ranked(answers, PROFILES)
    assert best[0].key == "nissan-leaf-ze1" and best[0].plausible
    assert best[0].result is not None and best[0].result.soc == pytest.approx(84.423342)
    assert not next(a for a in answers if a.key == "nissan-leaf-ze0").plausible
    assert sent_services(bus) == {"0x01", "0x21", "0x22", "flow control"}
    assert [CanFrame(0x79B, False, bytes.fromhex("30 00 00 00 00 00 00 00"))] == [
        f for f in bus.sent if f.data[0] == 0x30
    ]
    frames = [frame.data for line in lines for frame in parse_rx(line)]
    assert frames == leaf.test_vector.frames
    # politely spaced: one request at a time, at least the gap apart
    assert bus.now >= 0.5 * (len(plan(PROFILES)[0]) - 1)


def test_extended_addressing_car_is_recognised() -> None:
    bmw = PROFILES["bmw-i3-mini-se"]
    bus = FakeBus([car_entry(bmw, "i3")])
    answers, _ = detect(bus)
    best = ranked(answers, PROFILES)
    assert [a.key for a in best if a.plausible] == ["bmw-i3-mini-se"]
    assert CanFrame(0x6F1, False, bytes.fromhex("07 30 00 00 00 00 00 00")) in bus.sent


def test_several_cars_rank_by_plausibility_then_confidence() -> None:
    cars = [
        car_entry(PROFILES["renault-zoe-ph2"], "zoe"),
        car_entry(PROFILES["hyundai-kia-egmp"], "ioniq5"),
    ]
    bus = FakeBus(cars)
    answers, _ = detect(bus)
    best = ranked(answers, PROFILES)
    plausible = [a.key for a in best if a.plausible]
    # the Ariya shares the Zoe's request: both decode, the cross-checked Zoe ranks first
    assert plausible[:3] == ["hyundai-kia-egmp", "renault-zoe-ph2", "nissan-ariya"]
    out = io.StringIO()
    assert report(answers, PROFILES, out) == len(plausible)
    text = out.getvalue()
    assert "renault-zoe-ph2 (cross-checked, soc = dashboard): PLAUSIBLE: soc 67 %" in text
    assert "dacia-spring (single-source, soc = battery-controller): no answer" in text


def test_negative_response_is_reported_as_refused() -> None:
    ipace = PROFILES["jaguar-i-pace"]
    bus = FakeBus([car_entry(ipace, "ipace", [bytes.fromhex("03 7F 22 31 AA AA AA AA")])])
    answers, _ = detect(bus, {"jaguar-i-pace": ipace})
    (answer,) = answers
    assert not answer.plausible and answer.negative == "0x31 requestOutOfRange"
    out = io.StringIO()
    assert report(answers, {"jaguar-i-pace": ipace}, out) == 0
    assert "refused, negative response 0x31 requestOutOfRange" in out.getvalue()


def test_response_pending_waits_longer_than_the_answer_time() -> None:
    ipace = PROFILES["jaguar-i-pace"]
    (probe,), _ = plan({"jaguar-i-pace": ipace})
    run = ProbeRun(probe, {"jaguar-i-pace": ipace}, sent_at=0.0, answer_timeout_s=1.0)
    pending = CanFrame(0x7EC, False, bytes.fromhex("03 7F 22 78 AA AA AA AA"))
    assert run.feed([pending], 0.5) == []
    assert not run.finished(1.5)  # P2* instead of the 1 s answer time
    run.feed([CanFrame(0x7EC, False, ipace.test_vector.frames[0])], 2.0)
    assert run.finished(2.0)
    result = run.answers["jaguar-i-pace"].result
    assert result is not None and result.soc == pytest.approx(73.0)


def test_silent_car_gives_no_plausible_profile() -> None:
    bus = FakeBus([car_entry(PROFILES["jaguar-i-pace"], "other")])
    answers, _ = detect(bus, {"vw-e-up": PROFILES["vw-e-up"]}, timeout_s=0.2, gap_s=0.0)
    assert [a.result for a in answers] == [None]
    out = io.StringIO()
    assert report(answers, {"vw-e-up": PROFILES["vw-e-up"]}, out) == 0
    assert "vw-e-up (cross-checked, soc = battery-controller): no answer" in out.getvalue()


def test_answer_without_a_result_ranks_last() -> None:
    ipace = PROFILES["jaguar-i-pace"]
    (probe,), _ = plan({"jaguar-i-pace": ipace})
    run = ProbeRun(probe, {"jaguar-i-pace": ipace}, sent_at=0.0, answer_timeout_s=1.0)
    run.feed([CanFrame(0x7EC, False, ipace.test_vector.frames[0])], 0.1)
    answers = [Answer("vw-e-up"), run.answers["jaguar-i-pace"]]
    assert [a.key for a in ranked(answers, PROFILES)] == ["jaguar-i-pace", "vw-e-up"]


def test_unwritable_recording_is_refused_before_anything_is_sent(tmp_path, capsys) -> None:
    from services.wican_soc.detect_cli import main

    code = main(["--device", "d0d0cafe0001", "--out", str(tmp_path / "missing" / "x.jsonl")])
    assert code == 2
    assert "cannot write the recording" in capsys.readouterr().err
