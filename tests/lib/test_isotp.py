"""ISO-TP receiver, segmenter, sender and UDS helpers."""

import random

import pytest

from shared.isotp import (
    IsoTpError,
    IsoTpReceiver,
    IsoTpSender,
    Message,
    SendFlowControl,
    TransferError,
    decode_st_min,
    flow_control_frame,
    is_negative_response,
    is_positive_response,
    nrc_name,
    segment,
)

RX = 0x7BB
LEAF_FRAMES = [
    "10 35 61 01 FF FF FC 18",
    "21 02 AF FF FF FB D5 FF",
    "22 FF F0 60 06 D0 30 D4",
    "23 96 88 38 BD 03 8F 00",
    "24 01 70 00 22 42 00 0C",
    "25 87 0A 00 0F F0 88 80",
    "26 00 05 FF FF FB D5 FF",
    "27 FF FC 55 01 AE FF FF",
]
LEAF_PAYLOAD = bytes.fromhex(
    "61 01 FF FF FC 18 02 AF FF FF FB D5 FF FF F0 60 06 D0 30 D4 96 88 38 BD 03 8F 00"
    " 01 70 00 22 42 00 0C 87 0A 00 0F F0 88 80 00 05 FF FF FB D5 FF FF FC 55 01 AE"
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def errors(events: list) -> list[str]:
    return [event.reason for event in events if isinstance(event, TransferError)]


def rx(**kwargs) -> IsoTpReceiver:
    return IsoTpReceiver(RX, False, **kwargs)


# --- single frames ------------------------------------------------------------------


@pytest.mark.parametrize("pad", ["00", "55", "AA", "FF"])
def test_single_frame_ignores_padding(pad: str) -> None:
    events = rx().feed(RX, False, h("04 62 02 8C C8") + h(pad) * 3, 0.0)
    assert events == [Message(h("62 02 8C C8"))]


def test_single_frame_without_padding() -> None:
    assert rx().feed(RX, False, h("02 41 5B"), 0.0) == [Message(h("41 5B"))]


def test_single_frame_of_seven_bytes() -> None:
    assert rx().feed(RX, False, h("07 01 02 03 04 05 06 07"), 0.0) == [
        Message(h("01 02 03 04 05 06 07"))
    ]


def test_single_frame_escape_length_zero_is_an_error() -> None:
    assert "escape" in errors(rx().feed(RX, False, h("00 0A 62 02 8C 00 00 00"), 0.0))[0]


def test_single_frame_length_above_seven_is_an_error() -> None:
    assert "exceeds 7" in errors(rx().feed(RX, False, h("08 01 02 03 04 05 06 07"), 0.0))[0]


def test_single_frame_longer_than_its_data_is_an_error() -> None:
    assert "only 2 data bytes" in errors(rx().feed(RX, False, h("05 62 02"), 0.0))[0]


def test_empty_frame_is_an_error() -> None:
    assert "empty" in errors(rx().feed(RX, False, b"", 0.0))[0]


@pytest.mark.parametrize("pci", [0x40, 0x5F, 0x80, 0xF0])
def test_bad_pci_type_is_an_error(pci: int) -> None:
    assert "bad PCI type" in errors(rx().feed(RX, False, bytes([pci]) + bytes(7), 0.0))[0]


# --- ids ----------------------------------------------------------------------------


def test_other_ids_are_ignored_silently() -> None:
    receiver = rx()
    assert receiver.feed(0x7BC, False, h("02 61 01 00 00 00 00 00"), 0.0) == []
    assert receiver.feed(0x123, False, h("10 35 61 01 FF FF FC 18"), 0.0) == []
    assert not receiver.in_progress


def test_same_number_with_other_id_width_is_ignored() -> None:
    assert rx().feed(RX, True, h("02 61 01"), 0.0) == []
    assert IsoTpReceiver(RX, True).feed(RX, False, h("02 61 01"), 0.0) == []


def test_extended_ids_are_received() -> None:
    receiver = IsoTpReceiver(0x18DAF1DB, True)
    assert receiver.feed(0x18DAF1DB, True, h("04 62 90 02 1B"), 0.0) == [Message(h("62 90 02 1B"))]


def test_frames_of_other_ids_do_not_disturb_a_transfer() -> None:
    receiver = rx()
    events = []
    for index, frame in enumerate(LEAF_FRAMES):
        events += receiver.feed(0x5C0, False, h("21 00 00 00 00 00 00 00"), index * 0.01)
        events += receiver.feed(RX, False, h(frame), index * 0.01)
    assert events[-1] == Message(LEAF_PAYLOAD)
    assert errors(events) == []


# --- first frames and flow control --------------------------------------------------


def test_leaf_capture_reassembles_with_one_flow_control() -> None:
    receiver = rx()
    events = []
    for index, frame in enumerate(LEAF_FRAMES):
        events += receiver.feed(RX, False, h(frame), index * 0.012)
    assert events == [SendFlowControl(h("30 00 00 00 00 00 00 00")), Message(LEAF_PAYLOAD)]
    assert len(LEAF_PAYLOAD) == 0x35
    assert not receiver.in_progress


def test_flow_control_is_sent_on_the_first_frame_not_later() -> None:
    receiver = rx()
    assert receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0) == [
        SendFlowControl(h("30 00 00 00 00 00 00 00"))
    ]
    assert receiver.in_progress
    assert receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.01) == []


def test_flow_control_unpadded_with_block_size_and_st_min() -> None:
    receiver = rx(fc_pad=False, fc_block_size=4, fc_st_min=0x0A)
    assert receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0) == [SendFlowControl(h("30 04 0A"))]


def test_flow_control_pad_byte() -> None:
    receiver = rx(fc_pad_byte=0xAA)
    assert receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0) == [
        SendFlowControl(h("30 00 00 AA AA AA AA AA"))
    ]


@pytest.mark.parametrize("length", [1, 6, 7])
def test_first_frame_with_small_length_is_an_error(length: int) -> None:
    receiver = rx()
    frame = bytes([0x10, length]) + bytes(6)
    assert "fits a single frame" in errors(receiver.feed(RX, False, frame, 0.0))[0]
    assert not receiver.in_progress


def test_first_frame_with_escape_length_is_an_error() -> None:
    frame = h("10 00 00 00 10 00 62 01")
    assert "escape" in errors(rx().feed(RX, False, frame, 0.0))[0]


def test_first_frame_shorter_than_eight_bytes_is_an_error() -> None:
    assert "needs 8" in errors(rx().feed(RX, False, h("10 35 61 01 FF"), 0.0))[0]


def test_first_frame_length_uses_twelve_bits() -> None:
    receiver = rx()
    receiver.feed(RX, False, h("1F FF") + bytes(6), 0.0)
    assert receiver.in_progress
    payload = bytes(range(256)) * 16
    frames = segment(payload[:4095])
    events = []
    for frame in frames[1:]:
        events += receiver.feed(RX, False, frame, 0.0)
    assert isinstance(events[-1], Message) and len(events[-1].payload) == 4095


def test_flow_control_frames_addressed_to_us_are_ignored() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    assert receiver.feed(RX, False, h("30 00 00 00 00 00 00 00"), 0.0) == []
    assert receiver.feed(RX, False, h("32 00 00"), 0.0) == []
    events = []
    for frame in LEAF_FRAMES[1:]:
        events += receiver.feed(RX, False, h(frame), 0.0)
    assert events == [Message(LEAF_PAYLOAD)]


# --- consecutive frames -------------------------------------------------------------


def test_consecutive_frame_without_first_frame_is_an_error() -> None:
    assert "without a first frame" in errors(rx().feed(RX, False, h(LEAF_FRAMES[1]), 0.0))[0]


def test_sequence_mismatch_drops_the_transfer() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.0)
    reasons = errors(receiver.feed(RX, False, h(LEAF_FRAMES[3]), 0.0))
    assert reasons and "expected SN 2, got 3" in reasons[0]
    assert not receiver.in_progress
    later = errors(receiver.feed(RX, False, h(LEAF_FRAMES[4]), 0.0))
    assert "without a first frame" in later[0]


def test_repeated_consecutive_frame_is_a_sequence_error() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.0)
    assert "expected SN 2, got 1" in errors(receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.0))[0]


def test_sequence_number_wraps_from_f_to_0() -> None:
    payload = bytes(range(200))  # FF + 28 CFs: SN 1..F, 0, 1..B
    frames = segment(payload)
    assert [frame[0] for frame in frames[15:18]] == [0x2F, 0x20, 0x21]
    receiver = rx()
    events = []
    for frame in frames:
        events += receiver.feed(RX, False, frame, 0.0)
    assert events[-1] == Message(payload)
    assert errors(events) == []


def test_sequence_number_after_f_must_not_be_1() -> None:
    frames = segment(bytes(200))
    receiver = rx()
    for frame in frames[:16]:  # FF and SN 1..F
        receiver.feed(RX, False, frame, 0.0)
    wrong = bytes([0x21]) + frames[16][1:]
    assert "expected SN 0, got 1" in errors(receiver.feed(RX, False, wrong, 0.0))[0]


def test_short_consecutive_frame_is_an_error() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    reasons = errors(receiver.feed(RX, False, h("21 02 AF FF"), 0.0))
    assert "carries 3 bytes, needs 7" in reasons[0]
    assert not receiver.in_progress


def test_last_consecutive_frame_may_be_unpadded() -> None:
    receiver = rx()
    receiver.feed(RX, False, h("10 09 01 02 03 04 05 06"), 0.0)
    assert receiver.feed(RX, False, h("21 07 08 09"), 0.0) == [Message(bytes(range(1, 10)))]


def test_new_first_frame_restarts_the_transfer() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.0)
    events = receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    assert "interrupted" in errors(events)[0]
    assert isinstance(events[-1], SendFlowControl)
    for frame in LEAF_FRAMES[1:]:
        events = receiver.feed(RX, False, h(frame), 0.0)
    assert events == [Message(LEAF_PAYLOAD)]


def test_single_frame_interrupts_a_transfer() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    events = receiver.feed(RX, False, h("03 7F 21 78"), 0.0)
    assert "interrupted" in errors(events)[0]
    assert events[-1] == Message(h("7F 21 78"))
    assert not receiver.in_progress


# --- timeouts -----------------------------------------------------------------------


def test_poll_drops_a_stalled_transfer_after_n_cr() -> None:
    receiver = rx(n_cr_timeout=1.0)
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 10.0)
    receiver.feed(RX, False, h(LEAF_FRAMES[1]), 10.5)
    assert receiver.poll(11.5) == []
    assert receiver.in_progress
    reasons = errors(receiver.poll(11.51))
    assert "timeout" in reasons[0] and "13 of 53 bytes" in reasons[0]
    assert not receiver.in_progress
    assert receiver.poll(20.0) == []


def test_poll_without_transfer_does_nothing() -> None:
    assert rx().poll(1e9) == []


def test_late_consecutive_frame_reports_timeout_and_is_not_used() -> None:
    receiver = rx(n_cr_timeout=0.5)
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    reasons = errors(receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.6))
    assert len(reasons) == 2
    assert "timeout" in reasons[0] and "without a first frame" in reasons[1]


def test_timer_restarts_with_each_consecutive_frame() -> None:
    receiver = rx(n_cr_timeout=1.0)
    events = []
    for index, frame in enumerate(LEAF_FRAMES):
        events += receiver.feed(RX, False, h(frame), index * 0.9)
    assert events[-1] == Message(LEAF_PAYLOAD)


def test_late_first_frame_after_timeout_starts_a_new_transfer() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    events = receiver.feed(RX, False, h(LEAF_FRAMES[0]), 5.0)
    assert "timeout" in errors(events)[0]
    assert isinstance(events[-1], SendFlowControl)
    assert receiver.in_progress


# --- block size ---------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 6, 7])
def test_block_size_asks_for_flow_control_after_each_block(block_size: int) -> None:
    receiver = rx(fc_block_size=block_size, fc_pad=False)
    fc = bytes([0x30, block_size, 0x00])
    sent = []
    for index, frame in enumerate(LEAF_FRAMES):
        for event in receiver.feed(RX, False, h(frame), 0.0):
            if isinstance(event, SendFlowControl):
                assert event.data == fc
                sent.append(index)
            else:
                assert event == Message(LEAF_PAYLOAD)
    consecutive = len(LEAF_FRAMES) - 1  # 7
    expected = [0] + [k for k in range(1, consecutive) if k % block_size == 0]
    assert sent == expected


def test_receiver_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="reserved"):
        rx(fc_st_min=0x80)
    with pytest.raises(ValueError, match="not a byte"):
        rx(fc_block_size=256)
    with pytest.raises(ValueError, match="positive"):
        rx(n_cr_timeout=0)


def test_reset_forgets_the_transfer() -> None:
    receiver = rx()
    receiver.feed(RX, False, h(LEAF_FRAMES[0]), 0.0)
    receiver.reset()
    assert not receiver.in_progress
    assert "without a first frame" in errors(receiver.feed(RX, False, h(LEAF_FRAMES[1]), 0.0))[0]


# --- STmin and flow control frames --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0x00, 0.0),
        (0x01, 0.001),
        (0x7F, 0.127),
        (0xF1, 0.0001),
        (0xF5, 0.0005),
        (0xF9, 0.0009),
        (0x80, 0.127),
        (0xF0, 0.127),
        (0xFA, 0.127),
        (0xFF, 0.127),
    ],
)
def test_decode_st_min(value: int, seconds: float) -> None:
    assert decode_st_min(value) == pytest.approx(seconds)


def test_decode_st_min_rejects_non_bytes() -> None:
    with pytest.raises(IsoTpError):
        decode_st_min(256)


def test_flow_control_frame_builder() -> None:
    assert flow_control_frame() == h("30 00 00 00 00 00 00 00")
    assert flow_control_frame(1, 8, 0xF3, None) == h("31 08 F3")
    assert flow_control_frame(2, pad_byte=0xAA) == h("32 00 00 AA AA AA AA AA")
    with pytest.raises(ValueError):
        flow_control_frame(3)


# --- segment ------------------------------------------------------------------------


def test_segment_single_frame_padding() -> None:
    assert segment(h("22 02 8C")) == [h("03 22 02 8C AA AA AA AA")]
    assert segment(h("21 01"), 0x00) == [h("02 21 01 00 00 00 00 00")]
    assert segment(h("21 01"), None) == [h("02 21 01")]


def test_segment_eight_bytes_is_first_plus_one_consecutive() -> None:
    assert segment(bytes(range(1, 9)), 0x55) == [
        h("10 08 01 02 03 04 05 06"),
        h("21 07 08 55 55 55 55 55"),
    ]


def test_segment_reproduces_the_leaf_capture_with_ff_padding() -> None:
    assert segment(LEAF_PAYLOAD, 0xFF) == [h(frame) for frame in LEAF_FRAMES]


def test_segment_maximum_length() -> None:
    frames = segment(bytes(4095))
    assert frames[0][:2] == h("1F FF")
    assert len(frames) == 1 + (4095 - 6 + 6) // 7
    assert all(len(frame) == 8 for frame in frames)


def test_segment_without_padding_shortens_only_the_last_frame() -> None:
    frames = segment(bytes(20), None)
    assert [len(frame) for frame in frames] == [8, 8, 8]  # 6 + 7 + 7 = 20
    assert [len(frame) for frame in segment(bytes(21), None)] == [8, 8, 8, 2]


@pytest.mark.parametrize("payload", [b"", bytes(4096)])
def test_segment_rejects_bad_lengths(payload: bytes) -> None:
    with pytest.raises(IsoTpError):
        segment(payload)


def test_segment_rejects_bad_pad_byte() -> None:
    with pytest.raises(ValueError):
        segment(b"\x01", 256)


# --- sender -------------------------------------------------------------------------


def test_sender_single_frame_needs_no_flow_control() -> None:
    sender = IsoTpSender(h("62 02 8C C8"))
    assert sender.first_frame() == h("04 62 02 8C C8 AA AA AA")
    assert sender.done
    with pytest.raises(IsoTpError, match="after the last frame"):
        sender.on_flow_control(h("30 00 00"))


def test_sender_sends_everything_when_block_size_is_zero() -> None:
    sender = IsoTpSender(LEAF_PAYLOAD, 0xFF)
    assert sender.first_frame() == h(LEAF_FRAMES[0])
    block = sender.on_flow_control(h("30 00 0A 00 00 00 00 00"))
    assert block.status == "continue"
    assert block.frames == tuple(h(frame) for frame in LEAF_FRAMES[1:])
    assert block.st_min == pytest.approx(0.010)
    assert block.done and sender.done


def test_sender_honours_block_size_and_microsecond_st_min() -> None:
    sender = IsoTpSender(LEAF_PAYLOAD, 0xFF)
    sender.first_frame()
    first = sender.on_flow_control(h("30 03 F2"))
    assert len(first.frames) == 3 and not first.done
    assert first.st_min == pytest.approx(0.0002)
    second = sender.on_flow_control(h("30 03 00"))
    assert second.frames == tuple(h(frame) for frame in LEAF_FRAMES[4:7])
    third = sender.on_flow_control(h("30 03 00"))
    assert third.frames == (h(LEAF_FRAMES[7]),) and third.done


def test_sender_wait_then_continue() -> None:
    sender = IsoTpSender(bytes(30))
    sender.first_frame()
    wait = sender.on_flow_control(h("31 00 00"))
    assert wait.status == "wait" and wait.frames == () and not sender.done
    assert sender.on_flow_control(h("30 00 00")).done


def test_sender_gives_up_after_too_many_waits() -> None:
    sender = IsoTpSender(bytes(30), max_wait=2)
    sender.first_frame()
    sender.on_flow_control(h("31 00 00"))
    sender.on_flow_control(h("31 00 00"))
    with pytest.raises(IsoTpError, match="WAIT"):
        sender.on_flow_control(h("31 00 00"))
    assert sender.aborted


def test_sender_overflow_aborts() -> None:
    sender = IsoTpSender(bytes(30))
    sender.first_frame()
    block = sender.on_flow_control(h("32 00 00"))
    assert block.status == "overflow" and block.frames == ()
    assert sender.aborted
    with pytest.raises(IsoTpError, match="aborted"):
        sender.on_flow_control(h("30 00 00"))


@pytest.mark.parametrize("frame", ["21 00 00", "30 00", "33 00 00", ""])
def test_sender_rejects_bad_flow_control(frame: str) -> None:
    sender = IsoTpSender(bytes(30))
    sender.first_frame()
    with pytest.raises(IsoTpError):
        sender.on_flow_control(h(frame))


def test_sender_needs_the_first_frame_first() -> None:
    sender = IsoTpSender(bytes(30))
    with pytest.raises(IsoTpError, match="before the first frame"):
        sender.on_flow_control(h("30 00 00"))
    sender.first_frame()
    with pytest.raises(IsoTpError, match="already"):
        sender.first_frame()


# --- round trips --------------------------------------------------------------------


def transfer(payload: bytes, block_size: int, pad: int | None) -> tuple[bytes, int]:
    """Send `payload` through IsoTpSender into IsoTpReceiver; returns payload and FC count."""
    sender = IsoTpSender(payload, pad)
    receiver = IsoTpReceiver(RX, False, fc_block_size=block_size)
    pending = [sender.first_frame()]
    flow_controls = 0
    while pending:
        frame = pending.pop(0)
        for event in receiver.feed(RX, False, frame, 0.0):
            if isinstance(event, Message):
                assert not pending and sender.done
                return event.payload, flow_controls
            assert isinstance(event, SendFlowControl), event
            flow_controls += 1
            pending.extend(sender.on_flow_control(event.data).frames)
    raise AssertionError("no message")


@pytest.mark.long(10)
@pytest.mark.exhaustive  # 4,095 transfers: run untraced (tests/conftest.py)
def test_round_trip_every_length() -> None:
    rng = random.Random(1)
    for length in range(1, 4096):
        payload = rng.randbytes(length)
        received, flow_controls = transfer(payload, 0, 0xAA)
        assert received == payload
        assert flow_controls == (0 if length <= 7 else 1)


@pytest.mark.exhaustive
@pytest.mark.parametrize("block_size", [1, 2, 3, 7, 8, 15, 16, 17, 255])
def test_round_trip_with_block_sizes(block_size: int) -> None:
    rng = random.Random(block_size)
    lengths = [8, 13, 14, 20, 21, 111, 112, 113, 1000, 4094, 4095]
    lengths += rng.sample(range(8, 4096), 20)
    for length in lengths:
        payload = rng.randbytes(length)
        received, flow_controls = transfer(payload, block_size, rng.choice([None, 0x00, 0xCC]))
        assert received == payload
        consecutive = -(-(length - 6) // 7)
        assert flow_controls == 1 + (consecutive - 1) // block_size


# --- UDS ----------------------------------------------------------------------------


def test_negative_response_detection() -> None:
    assert is_negative_response(h("7F 22 31"))
    assert not is_negative_response(h("7F 22"))
    assert not is_negative_response(h("62 02 8C 7F"))
    assert not is_negative_response(b"")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0x10, "generalReject"),
        (0x11, "serviceNotSupported"),
        (0x12, "subFunctionNotSupported"),
        (0x13, "incorrectMessageLengthOrInvalidFormat"),
        (0x14, "responseTooLong"),
        (0x22, "conditionsNotCorrect"),
        (0x31, "requestOutOfRange"),
        (0x33, "securityAccessDenied"),
        (0x78, "requestCorrectlyReceivedResponsePending"),
        (0x7E, "subFunctionNotSupportedInActiveSession"),
        (0x7F, "serviceNotSupportedInActiveSession"),
        (0x99, "unknownNRC(0x99)"),
    ],
)
def test_nrc_names(code: int, name: str) -> None:
    assert nrc_name(code) == name


@pytest.mark.parametrize(
    ("payload", "sent", "positive"),
    [
        ("62 02 8C C8", "22 02 8C", True),
        ("62 02 8C", "22 02 8C", True),
        ("62 02 8D C8", "22 02 8C", False),
        ("62 02", "22 02 8C", False),
        ("61 01 FF", "21 01", True),
        ("61 02 FF", "21 01", False),
        ("41 5B 80", "01 5B", True),
        ("7F 22 31", "22 02 8C", False),
        ("", "22 02 8C", False),
        ("62 02 8C", "", False),
        ("FF 00", "FF 00", False),
    ],
)
def test_positive_response(payload: str, sent: str, positive: bool) -> None:
    assert is_positive_response(h(payload), h(sent)) is positive
