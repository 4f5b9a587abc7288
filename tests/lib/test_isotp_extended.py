"""ISO-TP extended addressing: an address byte before the PCI of every frame, both ways.

The BMW i3 / Mini SE layout: requests and Flow Control to the ECU start with its address
(0x07), every reply frame starts with the tester's address (0xF1).
"""

import pytest

from shared.isotp import (
    IsoTpError,
    IsoTpReceiver,
    IsoTpSender,
    Message,
    SendFlowControl,
    TransferError,
    flow_control_frame,
    segment,
)

RX = 0x607
ECU, TESTER = 0x07, 0xF1


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def rx(**kwargs) -> IsoTpReceiver:
    return IsoTpReceiver(RX, False, address=TESTER, fc_address=ECU, **kwargs)


def feed_all(receiver: IsoTpReceiver, frames: list[bytes]) -> list:
    events = []
    for index, frame in enumerate(frames):
        events += receiver.feed(RX, False, frame, index * 0.001)
    return events


def messages(events: list) -> list[bytes]:
    return [event.payload for event in events if isinstance(event, Message)]


def errors(events: list) -> list[str]:
    return [event.reason for event in events if isinstance(event, TransferError)]


# --- framing by hand (what the wire carries) -----------------------------------------


def test_single_frame_carries_address_then_pci() -> None:
    assert segment(h("22 DD BC"), 0x00, ECU) == [h("07 03 22 DD BC 00 00 00")]


def test_six_bytes_fit_a_single_frame_seven_do_not() -> None:
    assert segment(bytes(range(1, 7)), 0x00, TESTER) == [h("F1 06 01 02 03 04 05 06")]
    frames = segment(bytes(range(1, 8)), 0x00, TESTER)
    assert frames == [h("F1 10 07 01 02 03 04 05"), h("F1 21 06 07 00 00 00 00")]


def test_first_frame_carries_five_and_consecutive_frames_six_bytes() -> None:
    payload = bytes(range(0x10, 0x10 + 17))
    assert segment(payload, 0xAA, TESTER) == [
        h("F1 10 11 10 11 12 13 14"),
        h("F1 21 15 16 17 18 19 1A"),
        h("F1 22 1B 1C 1D 1E 1F 20"),
    ]


def test_flow_control_starts_with_the_ecu_address() -> None:
    assert flow_control_frame(address=ECU) == h("07 30 00 00 00 00 00 00")
    assert flow_control_frame(0, 8, 0x14, None, ECU) == h("07 30 08 14")
    assert rx(fc_block_size=2, fc_st_min=5).flow_control == h("07 30 02 05 00 00 00 00")


def test_bmw_style_reply_reassembles_and_asks_for_the_rest_with_flow_control() -> None:
    # 62 DD BC + SoC 0x0301 (77.0 %) + two more bytes: 7 payload bytes -> FF + CF
    frames = [h("F1 10 07 62 DD BC 03 01"), h("F1 21 00 00 FF FF FF FF")]
    receiver = rx()
    first = receiver.feed(RX, False, frames[0], 0.0)
    assert first == [SendFlowControl(h("07 30 00 00 00 00 00 00"))]
    assert receiver.feed(RX, False, frames[1], 0.01) == [Message(h("62 DD BC 03 01 00 00"))]


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("length", [*range(1, 40), 100, 255, 256, 1000, 4095])
def test_every_length_round_trips(length: int) -> None:
    payload = bytes((i * 7 + length) & 0xFF for i in range(length))
    frames = segment(payload, 0x55, TESTER)
    assert all(len(frame) == 8 and frame[0] == TESTER for frame in frames)
    events = feed_all(rx(), frames)
    assert messages(events) == [payload]
    assert not errors(events)
    flow = [event for event in events if isinstance(event, SendFlowControl)]
    assert len(flow) == (0 if length <= 6 else 1)


def test_unpadded_last_frame_round_trips() -> None:
    payload = bytes(range(20))
    frames = segment(payload, None, TESTER)
    assert len(frames[-1]) < 8
    assert messages(feed_all(rx(), frames)) == [payload]


def test_sequence_numbers_wrap_after_f() -> None:
    payload = bytes(range(256)) * 1  # 1 + ceil(251 / 6) = 43 frames: SN wraps twice
    frames = segment(payload, 0x00, TESTER)
    assert [frame[1] for frame in frames[15:18]] == [0x2F, 0x20, 0x21]
    assert messages(feed_all(rx(), frames)) == [payload]


def test_block_size_asks_again_with_the_address() -> None:
    payload = bytes(range(30))  # FF + 5 CF
    events = feed_all(rx(fc_block_size=2), segment(payload, 0x00, TESTER))
    flow = [event.data for event in events if isinstance(event, SendFlowControl)]
    assert flow == [h("07 30 02 00 00 00 00 00")] * 3  # after FF, CF2, CF4
    assert messages(events) == [payload]


# --- what the receiver refuses -------------------------------------------------------


def test_frames_for_another_address_are_ignored() -> None:
    receiver = rx()
    assert receiver.feed(RX, False, h("F2 03 62 DD BC 00 00 00"), 0.0) == []
    assert receiver.feed(RX, False, h("03 62 DD BC 00 00 00 00"), 0.0) == []  # normal addressing
    assert receiver.feed(RX, False, b"", 0.0) == []
    assert receiver.feed(RX, False, h("F1 03 62 DD BC"), 0.0) == [Message(h("62 DD BC"))]


def test_other_address_does_not_disturb_a_transfer() -> None:
    frames = segment(bytes(range(11)), 0x00, TESTER)  # FF + 1 CF
    receiver = rx()
    events = receiver.feed(RX, False, frames[0], 0.0)
    events += receiver.feed(RX, False, h("F2 21 00 00 00 00 00 00"), 0.001)
    events += receiver.feed(RX, False, frames[1], 0.002)
    assert messages(events) == [bytes(range(11))]


def test_single_frame_longer_than_six_is_rejected() -> None:
    assert errors(rx().feed(RX, False, h("F1 07 01 02 03 04 05 06"), 0.0)) == [
        "single frame length 7 exceeds 6"
    ]


def test_first_frame_that_fits_a_single_frame_is_rejected() -> None:
    reasons = errors(rx().feed(RX, False, h("F1 10 06 01 02 03 04 05"), 0.0))
    assert reasons == ["first frame length 6 fits a single frame"]


def test_short_first_frame_is_rejected_with_its_real_size() -> None:
    reasons = errors(rx().feed(RX, False, h("F1 10 10 01 02 03 04"), 0.0))
    assert reasons == ["first frame has 7 bytes, needs 8"]


def test_short_consecutive_frame_is_rejected() -> None:
    receiver = rx()
    receiver.feed(RX, False, h("F1 10 10 01 02 03 04 05"), 0.0)
    reasons = errors(receiver.feed(RX, False, h("F1 21 06 07 08"), 0.001))
    assert reasons == ["consecutive frame SN 1 carries 3 bytes, needs 6"]


def test_address_byte_alone_is_an_empty_frame() -> None:
    assert errors(rx().feed(RX, False, h("F1"), 0.0)) == ["empty frame (no PCI byte)"]


@pytest.mark.parametrize("kwargs", [{"address": TESTER}, {"fc_address": ECU}])
def test_receiver_needs_both_addresses(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="both address and fc_address"):
        IsoTpReceiver(RX, False, **kwargs)


@pytest.mark.parametrize("bad", [-1, 256])
def test_addresses_must_be_bytes(bad: int) -> None:
    with pytest.raises(ValueError, match="not a byte"):
        IsoTpReceiver(RX, False, address=bad, fc_address=ECU)
    with pytest.raises(ValueError, match="not a byte"):
        IsoTpReceiver(RX, False, address=TESTER, fc_address=bad)
    with pytest.raises(ValueError, match="not a byte"):
        segment(b"\x01", 0, bad)


# --- the sender side (the simulated ECU) ---------------------------------------------


def ecu_sender(payload: bytes) -> IsoTpSender:
    return IsoTpSender(payload, 0xAA, address=TESTER, fc_address=ECU)


def test_sender_and_receiver_agree_through_flow_control() -> None:
    payload = bytes(range(50))
    sender, receiver = ecu_sender(payload), rx(fc_block_size=3)
    events = receiver.feed(RX, False, sender.first_frame(), 0.0)
    received: list[bytes] = []
    while not sender.done:
        (flow,) = [event.data for event in events if isinstance(event, SendFlowControl)]
        block = sender.on_flow_control(flow)
        assert block.status == "continue"
        events = []
        for frame in block.frames:
            events += receiver.feed(RX, False, frame, 0.0)
        received += messages(events)
    assert received == [payload]


def test_sender_refuses_flow_control_for_another_address() -> None:
    sender = ecu_sender(bytes(range(20)))
    sender.first_frame()
    with pytest.raises(IsoTpError, match="flow control for address 0x08, expected 0x07"):
        sender.on_flow_control(h("08 30 00 00"))
    with pytest.raises(IsoTpError, match="address nothing"):
        sender.on_flow_control(b"")


def test_sender_without_the_address_byte_sees_no_flow_control() -> None:
    sender = ecu_sender(bytes(range(20)))
    sender.first_frame()
    with pytest.raises(IsoTpError, match="expected 0x07"):
        sender.on_flow_control(h("30 00 00 00 00 00 00 00"))


def test_sender_honours_wait_and_overflow_behind_the_address() -> None:
    sender = ecu_sender(bytes(range(20)))
    sender.first_frame()
    assert sender.on_flow_control(h("07 31 00 00")).status == "wait"
    assert sender.on_flow_control(h("07 32 00 00")).status == "overflow"
    assert sender.aborted


def test_sender_needs_both_addresses() -> None:
    with pytest.raises(ValueError, match="both address and fc_address"):
        IsoTpSender(b"\x01", address=TESTER)
