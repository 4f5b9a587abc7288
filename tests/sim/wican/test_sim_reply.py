"""The WiCAN simulator's car against canbridge's reader: two independent sides must agree.

The simulator's ECU is can-isotp with replies from its own catalogue; the reader is
canbridge's ISO-TP receiver and decoder. A car on which they disagree fails here, and the
note in docs/simulators.md says which side was checked against what.
"""

import isotp.tools
import pytest
from wican_soc.builtin_profiles import builtin_profiles

from services.sim.wican.adapter import Breaker, Noise, batch
from services.sim.wican.car import CarState
from services.sim.wican.catalogue import load_catalogue, parse_model
from services.sim.wican.ecu import Ecu, IsoTpTuning
from services.sim.wican.service import reply_to
from services.wican_soc.profiles import FlowControlSpec
from services.wican_soc.reader import Dropped, Reading, SendFrame, VehicleReader
from shared.wican_payload import CanFrame

PROFILES = builtin_profiles()
CARS = load_catalogue()


def ecu_for(name: str, soc: float, tuning: IsoTpTuning | None = None) -> Ecu:
    model = CARS[name]
    answer = lambda request, functional: reply_to(model, request, functional, soc)  # noqa: E731
    return Ecu(model.addressing, answer, tuning or IsoTpTuning())


def converse(ecu: Ecu, reader: VehicleReader, request: CanFrame, per_message: int = 1):
    """Reader and ECU talk until nothing moves; returns outcomes and the rx messages."""
    outcomes: list[Reading | Dropped] = []
    messages: list[tuple[CanFrame, ...]] = []
    ecu.receive(request)
    while True:
        frames = ecu.step()
        if not frames:
            return outcomes, messages
        for message in batch(frames, per_message):
            messages.append(message)
            for outcome in reader.feed(message, 0.0):
                if isinstance(outcome, SendFrame):
                    ecu.receive(outcome.frame)
                else:
                    outcomes.append(outcome)


def request_of(name: str) -> CanFrame:
    profile = PROFILES[name]
    model = CARS[name]
    can_id = model.functional_id or profile.request_id
    return CanFrame(can_id, profile.extended, profile.request_frame())


def test_the_simulator_plays_every_profile():
    missing = sorted(set(PROFILES) - set(CARS))
    assert not missing, f"add these cars to services/sim/wican/catalogue.yaml: {missing}"


def test_every_car_of_the_catalogue_has_a_profile_with_the_same_ids():
    for name, model in CARS.items():
        profile = PROFILES[name]
        assert profile.request == model.request, name
        assert profile.response_id == model.response_id, name
        assert profile.extended == model.id_29bit, name
        assert profile.request_id in (model.request_id, model.functional_id), name


@pytest.mark.parametrize("name", sorted(CARS))
@pytest.mark.parametrize("soc", [0.0, 12.3, 50.0, 80.5, 100.0])
def test_the_reader_decodes_what_the_simulated_car_says(name, soc):
    model = CARS[name]
    resolution = abs(model.soc.scale) / 2 * 1.001  # half a step of the layout
    ecu = ecu_for(name, soc)
    outcomes, _ = converse(ecu, VehicleReader(PROFILES[name]), request_of(name))
    readings = [o for o in outcomes if isinstance(o, Reading)]
    assert len(readings) == 1, (outcomes, ecu.errors)
    assert readings[0].result.soc == pytest.approx(soc, abs=resolution)
    assert ecu.errors == [] and not ecu.busy()


def test_the_leaf_reply_is_the_captured_one_at_the_captured_soc():
    leaf = CARS["nissan-leaf-ze1"]
    payload, _ = leaf.reply_for(1.211 * 82.1002 - 15)
    assert payload == leaf.reply  # the raw 0x0C870A of the capture


def test_block_size_wait_and_batching_with_the_leaf():
    leaf = PROFILES["nissan-leaf-ze1"]
    blocks_of_two = leaf.model_copy(update={"flow_control": FlowControlSpec(block_size=2)})
    ecu = ecu_for("nissan-leaf-ze1", 66.6)
    outcomes, messages = converse(
        ecu, VehicleReader(blocks_of_two), request_of("nissan-leaf-ze1"), 3
    )
    (reading,) = [o for o in outcomes if isinstance(o, Reading)]
    assert reading.result.soc == pytest.approx(66.6, abs=1e-3)
    # after the First Frame, every Flow Control lets two Consecutive Frames out
    assert [len(m) for m in messages] == [1, 2, 2, 2, 1]


def test_flow_control_wait_is_honoured_up_to_wftmax():
    ecu = ecu_for("nissan-leaf-ze1", 50, IsoTpTuning(wftmax=1))
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("02 21 01 00 00 00 00 00")))
    assert len(ecu.step()) == 1  # First Frame
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("31 00 00 00 00 00 00 00")))
    assert ecu.step() == [] and ecu.busy()  # waits
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("30 00 00 00 00 00 00 00")))
    assert len(ecu.step()) == 7 and not ecu.busy()


class FakeClock:
    """can-isotp's timers read time.perf_counter_ns: this one moves only when told."""

    def __init__(self) -> None:
        self.ns = 10**12

    def perf_counter_ns(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(isotp.tools, "time", fake)
    return fake


def leaf_first_frame(ecu: Ecu) -> None:
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("02 21 01 00 00 00 00 00")))
    assert len(ecu.step()) == 1


def test_st_min_from_the_flow_control_spaces_the_consecutive_frames(clock):
    ecu = ecu_for("nissan-leaf-ze1", 50)
    leaf_first_frame(ecu)
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("30 00 7F 00 00 00 00 00")))  # 127 ms
    assert ecu.step() == []  # can-isotp keeps STmin before the first one too
    assert ecu.next_delay() == pytest.approx(0.127)
    clock.advance(0.126)
    assert ecu.step() == []
    clock.advance(0.002)
    assert [f.data[0] for f in ecu.step()] == [0x21]
    clock.advance(0.128)
    assert [f.data[0] for f in ecu.step()] == [0x22]


def test_the_ecus_own_minimum_gap_wins_over_the_testers(clock):
    ecu = ecu_for("nissan-leaf-ze1", 50, IsoTpTuning(min_separation_s=0.5))
    leaf_first_frame(ecu)
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("30 00 00 00 00 00 00 00")))  # STmin 0
    assert ecu.step() == []
    assert ecu.next_delay() == pytest.approx(0.5)
    clock.advance(0.501)
    assert len(ecu.step()) == 1


def test_no_flow_control_within_n_bs_ends_the_transfer(clock):
    ecu = ecu_for("nissan-leaf-ze1", 50, IsoTpTuning(n_bs_ms=1000))
    leaf_first_frame(ecu)
    clock.advance(0.999)
    assert ecu.step() == [] and ecu.busy()
    clock.advance(0.002)
    assert ecu.step() == [] and not ecu.busy()
    assert ecu.errors and ecu.errors[0].startswith("FlowControlTimeoutError")
    # a late Flow Control finds nothing to continue
    ecu.receive(CanFrame(0x79B, False, bytes.fromhex("30 00 00 00 00 00 00 00")))
    assert ecu.step() == []


def test_extended_addressing_needs_the_address_byte_in_both_directions():
    ecu = ecu_for("bmw-i3-mini-se", 77.0)
    ecu.receive(CanFrame(0x6F1, False, bytes.fromhex("03 22 DD BC 00 00 00 00")))  # no address
    assert ecu.step() == []
    ecu.receive(CanFrame(0x6F1, False, bytes.fromhex("07 03 22 DD BC 00 00 00")))
    (first,) = ecu.step()
    assert first == CanFrame(0x607, False, bytes.fromhex("F1 10 0C 62 DD BC 03 02"))
    ecu.receive(CanFrame(0x6F1, False, bytes.fromhex("07 30 00 00 00 00 00 00")))
    assert [f.data[:2] for f in ecu.step()] == [b"\xf1\x21", b"\xf1\x22"]


def test_functional_request_is_answered_from_the_physical_id():
    ecu = ecu_for("mitsubishi-outlander-phev-2023", 44.8)
    ecu.receive(CanFrame(0x18DB33F1, True, bytes.fromhex("03 22 01 D1 00 00 00 00")))
    (reply,) = ecu.step()
    assert reply.id == 0x18DAF1DB and reply.extended
    assert reply.data[:5] == bytes.fromhex("05 62 01 D1 00")


def test_other_identifiers_get_a_negative_response_functional_ones_silence():
    ecu = ecu_for("vw-e-up", 50)
    ecu.receive(CanFrame(0x7E5, False, bytes.fromhex("03 22 F1 90 00 00 00 00")))
    assert ecu.step()[0].data[:4] == bytes.fromhex("03 7F 22 31")
    ecu.receive(CanFrame(0x7E5, False, bytes.fromhex("02 21 01 00 00 00 00 00")))
    assert ecu.step()[0].data[:4] == bytes.fromhex("03 7F 21 11")
    outlander = ecu_for("mitsubishi-outlander-phev-2023", 50)
    outlander.receive(CanFrame(0x18DB33F1, True, bytes.fromhex("03 22 90 02 00 00 00 00")))
    assert outlander.step() == []


@pytest.mark.parametrize("name", ["nissan-leaf-ze1", "bmw-i3-mini-se", "vw-e-up"])
def test_a_broken_reply_is_dropped_by_the_reader(name):
    model = CARS[name]
    ecu = ecu_for(name, 50)
    breaker = Breaker(0 if model.ecu_address is None else 1)
    reader = VehicleReader(PROFILES[name])
    outcomes = []
    ecu.receive(request_of(name))
    while frames := ecu.step():
        for frame in frames:
            for outcome in reader.feed((breaker.frame(frame),), 0.0):
                if isinstance(outcome, SendFrame):
                    ecu.receive(outcome.frame)
                else:
                    outcomes.append(outcome)
    assert not [o for o in outcomes if isinstance(o, Reading)]
    assert [o for o in outcomes if isinstance(o, Dropped)], outcomes


def test_noise_never_uses_the_reply_id():
    frames = Noise().frames(8, avoid_id=0x3B8)
    assert len(frames) == 8 and all(f.id != 0x3B8 for f in frames)


def test_a_bad_catalogue_entry_is_named():
    with pytest.raises(ValueError, match="car 'x'.reply"):
        parse_model(
            "x",
            {"request_id": 1, "response_id": 2, "request": "22 01", "reply": "62",
             "soc": {"bytes": [3], "scale": 1}},
        )  # fmt: skip


def test_car_state_commands_and_drift():
    car = CarState(soc=50.0, soc_rate_per_h=10.0, since=0.0)
    assert car.soc_at(1800) == pytest.approx(55.0)
    assert car.apply({"soc": 20, "awake": False}, 3600) == ["awake", "soc"]
    assert car.soc_at(3600) == 20 and not car.awake
    assert car.soc_at(3600 * 100) == 100.0
    car.apply({"corrupt_transfers": 1}, 0)
    assert car.take_corruption() and not car.take_corruption()


def test_the_adapter_sleeps_minutes_after_switch_off_and_wakes_to_charge():
    car = CarState(soc=50.0, sleep_after_s=180)
    car.apply({"ignition": False}, 1000)
    assert not car.tick(1179) and car.awake  # still up for three minutes
    assert car.tick(1180) and not car.awake
    assert not car.tick(5000)  # stays asleep
    car.apply({"charging": True}, 6000)
    assert car.tick(6000) and car.awake
    car.apply({"charging": False}, 7000)
    assert not car.tick(7100) and car.tick(7180) and not car.awake
    car.apply({"awake": True}, 8000)
    assert car.awake and car.ignition and not car.tick(9000)


def test_the_status_says_online_until_the_last_will_is_out():
    car = CarState(soc=50.0, offline_delay_s=45)
    assert car.status_online(0)
    car.apply({"awake": False}, 100)
    assert not car.awake  # nothing answers any more
    assert car.status_online(144.9) and not car.status_online(145)
    car.apply({"charging": True}, 200)
    car.tick(200)
    assert car.awake and car.status_online(200)
    assert not CarState(soc=50.0, awake=False, offline_delay_s=45).status_online(0)


@pytest.mark.parametrize(
    "command",
    [[], {"soc": 101}, {"awake": 1}, {"soc": "x"}, {"colour": 1}, {"noise_frames": -1},
     {"sleep_after_s": -1}, {"offline_delay_s": -1}, {"charging": "yes"}],
)  # fmt: skip
def test_bad_commands_are_refused(command):
    with pytest.raises(ValueError):
        CarState(soc=50).apply(command, 0)
