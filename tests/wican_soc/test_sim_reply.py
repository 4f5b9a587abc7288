"""The WiCAN simulator's car side: replies for any SoC, framing, faults."""

import pytest

from services.sim.wican.adapter import ReplyTransfer
from services.sim.wican.car import CarState
from services.sim.wican.reply import ReplyEncoder, template_payload
from services.wican_soc.profiles import FlowControlSpec, load_profiles
from services.wican_soc.reader import Dropped, Reading, SendFrame, VehicleReader
from shared.isotp import flow_control_frame

PROFILES = load_profiles()


def resolution(profile, encoder: ReplyEncoder) -> float:
    return max(abs(encoder.encode(50.0)[1] - 50.0), 0.5)


@pytest.mark.parametrize("key", sorted(PROFILES))
@pytest.mark.parametrize("soc", [0.0, 12.3, 50.0, 80.5, 100.0])
def test_every_profile_can_carry_any_soc(key, soc):
    profile = PROFILES[key]
    encoder = ReplyEncoder(profile)
    payload, decoded = encoder.encode(soc)
    assert len(payload) == len(template_payload(profile))
    assert decoded == pytest.approx(soc, abs=resolution(profile, encoder))


def run_transfer(profile, transfer: ReplyTransfer, reader: VehicleReader):
    """Play sender and receiver against each other like the simulator and wican-soc do."""
    outcomes, messages = [], []
    batch = transfer.start()
    while True:
        messages += batch.messages
        flow = []
        for message in batch.messages:
            for outcome in reader.feed(message, 0.0):
                if isinstance(outcome, SendFrame):
                    flow.append(outcome.frame.data)
                else:
                    outcomes.append(outcome)
        if batch.done or not flow:
            return outcomes, messages, batch
        batch = transfer.on_flow_control(flow[-1])


def test_leaf_reply_reassembles_with_flow_control_block_size_and_batching():
    leaf = PROFILES["nissan-leaf-ze1"]
    payload, _ = ReplyEncoder(leaf).encode(66.6)
    blocks_of_two = leaf.model_copy(update={"flow_control": FlowControlSpec(block_size=2)})
    reader = VehicleReader(blocks_of_two)
    transfer = ReplyTransfer(payload, 0x7BB, False, frames_per_message=3, noise_frames=2)
    outcomes, messages, _ = run_transfer(leaf, transfer, reader)
    (reading,) = [o for o in outcomes if isinstance(o, Reading)]
    assert reading.result.soc == pytest.approx(66.6)
    assert max(len(m) for m in messages) == 2 + 2  # blocks of 2 frames plus 2 noise frames


def test_st_min_keeps_one_frame_per_message():
    payload, _ = ReplyEncoder(PROFILES["nissan-leaf-ze1"]).encode(50)
    transfer = ReplyTransfer(payload, 0x7BB, False, frames_per_message=4)
    transfer.start()
    batch = transfer.on_flow_control(flow_control_frame(0, 0, 5))
    assert batch.gap_s == pytest.approx(0.005)
    assert all(len(m) == 1 for m in batch.messages) and batch.done


@pytest.mark.parametrize("key", ["nissan-leaf-ze1", "kgm-torres-evx", "dacia-spring"])
def test_corrupted_reply_is_dropped(key):
    profile = PROFILES[key]
    payload, _ = ReplyEncoder(profile).encode(50)
    transfer = ReplyTransfer(payload, profile.response_id, profile.extended, broken=True)
    outcomes, _, _ = run_transfer(profile, transfer, VehicleReader(profile))
    assert not [o for o in outcomes if isinstance(o, Reading)]
    assert [o for o in outcomes if isinstance(o, Dropped)]


def test_car_state_commands_and_drift():
    car = CarState(soc=50.0, soc_rate_per_h=10.0, since=0.0)
    assert car.soc_at(1800) == pytest.approx(55.0)
    assert car.apply({"soc": 20, "awake": False}, 3600) == ["awake", "soc"]
    assert car.soc_at(3600) == 20 and not car.awake
    assert car.soc_at(3600 * 100) == 100.0
    car.apply({"corrupt_transfers": 1}, 0)
    assert car.take_corruption() and not car.take_corruption()


@pytest.mark.parametrize(
    "command", [[], {"soc": 101}, {"awake": 1}, {"soc": "x"}, {"colour": 1}, {"noise_frames": -1}]
)
def test_bad_commands_are_refused(command):
    with pytest.raises(ValueError):
        CarState(soc=50).apply(command, 0)
