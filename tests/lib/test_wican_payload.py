"""WiCAN can/rx, can/tx and status payloads."""

import json
from pathlib import Path

import pytest

from shared.contract.status import parse_status
from shared.wican_payload import CanFrame, parse_rx, tx_message, tx_payload

VECTORS = Path(__file__).resolve().parents[1] / "wican_soc" / "vectors"  # shared with wican-soc


def rx_message(*frames: dict, bus: object = "0") -> str:
    return json.dumps({"bus": bus, "type": "rx", "ts": 34610, "frame": list(frames)})


def frame(**overrides: object) -> dict:
    raw = {"id": 1979, "dlc": 8, "rtr": False, "extd": False, "data": [1, 2, 3, 4, 5, 6, 7, 8]}
    raw.update(overrides)
    return raw


def test_parse_reference_example() -> None:
    text = (
        '{"bus":"0","type":"rx","ts":34610,"frame":[{"id":123,"dlc":8,"rtr":false,'
        '"extd":false,"data":[1,2,3,4,5,6,7,8]}]}'
    )
    assert parse_rx(text) == [CanFrame(123, False, bytes([1, 2, 3, 4, 5, 6, 7, 8]))]


def test_parse_accepts_bytes_and_numeric_bus() -> None:
    assert parse_rx(rx_message(frame(), bus=0).encode()) == [
        CanFrame(1979, False, bytes(range(1, 9)))
    ]


def test_parse_real_leaf_capture() -> None:
    lines = (VECTORS / "nissan-leaf-ze1.rx.jsonl").read_bytes().splitlines()
    frames = [f for line in lines for f in parse_rx(line)]
    assert len(frames) == 8
    assert {f.id for f in frames} == {0x7BB}
    assert frames[0].data == bytes.fromhex("10 35 61 01 FF FF FC 18")
    assert frames[-1].data == bytes.fromhex("27 FF FC 55 01 AE FF FF")


def test_several_frames_in_one_message_keep_their_order() -> None:
    message = rx_message(
        frame(id=0x5C0, data=[0] * 8),
        frame(id=0x18DAF1DB, extd=True, dlc=3, data=[2, 3, 4]),
        frame(id=0x7BB, dlc=0, data=[]),
    )
    assert parse_rx(message) == [
        CanFrame(0x5C0, False, bytes(8)),
        CanFrame(0x18DAF1DB, True, bytes([2, 3, 4])),
        CanFrame(0x7BB, False, b""),
    ]


def test_remote_frames_are_skipped() -> None:
    message = rx_message(frame(rtr=True, dlc=8, data=[]), frame(id=0x100))
    assert [f.id for f in parse_rx(message)] == [0x100]


def test_empty_frame_list() -> None:
    assert parse_rx(rx_message()) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ("[1, 2]", "JSON object"),
        ('{"type": "rx", "frame": []}', "missing key 'bus'"),
        ('{"bus": "0", "type": "rx"}', "missing key 'frame'"),
        ('{"bus": "0", "type": "tx", "frame": []}', "expected 'rx'"),
        ('{"bus": "zero", "type": "rx", "frame": []}', "'bus'"),
        ('{"bus": true, "type": "rx", "frame": []}', "'bus'"),
        ('{"bus": "0", "type": "rx", "frame": {}}', "'frame' must be a list"),
        ('{"bus": "0", "type": "rx", "frame": [5]}', "frame[0]: must be an object"),
    ],
)
def test_bad_messages(payload: str | bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rx(payload)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": None}, "frame[1].id must be an integer"),
        ({"id": "1979"}, "frame[1].id must be an integer"),
        ({"id": True}, "frame[1].id must be an integer"),
        ({"id": 0x800}, "frame[1]: CAN id 0x800 does not fit 11 bits"),
        ({"id": 0x20000000, "extd": True}, "does not fit 29 bits"),
        ({"id": -1}, "does not fit"),
        ({"dlc": 9}, "dlc 9 is outside 0..8"),
        ({"dlc": 7}, "dlc is 7 but data has 8 bytes"),
        ({"data": [1, 2, 3, 4, 5, 6, 7, 256]}, "data[7] = 256 is outside 0..255"),
        ({"data": [1, 2, 3, -4, 5, 6, 7, 8]}, "data[3] = -4 is outside 0..255"),
        ({"data": [1, 2, 3, 4.5, 5, 6, 7, 8]}, "data[3] must be an integer"),
        ({"data": "0102"}, "'data' must be a list"),
        ({"extd": "false"}, "'rtr' and 'extd' must be true or false"),
        ({"rtr": 0}, "'rtr' and 'extd' must be true or false"),
    ],
)
def test_bad_frames_name_the_frame_and_problem(bad: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rx(rx_message(frame(), frame(**bad)))
    assert message in str(info.value)


@pytest.mark.parametrize("key", ["id", "dlc", "extd", "data"])
def test_missing_frame_keys(key: str) -> None:
    raw = frame()
    del raw[key]
    with pytest.raises(ValueError, match=f"frame\\[0\\]: missing key\\(s\\) {key}"):
        parse_rx(rx_message(raw))


def test_missing_rtr_means_data_frame() -> None:
    raw = frame()
    del raw["rtr"]
    assert len(parse_rx(rx_message(raw))) == 1


def test_can_frame_validates_itself() -> None:
    with pytest.raises(ValueError, match="at most 8"):
        CanFrame(0x7DF, False, bytes(9))
    with pytest.raises(ValueError, match="11 bits"):
        CanFrame(0x18DB33F1, False, b"")
    assert CanFrame(0x18DB33F1, True, b"").id == 0x18DB33F1


def test_tx_payload_matches_reference_format_exactly() -> None:
    request = CanFrame(2015, False, bytes([2, 1, 91, 170, 170, 170, 170, 170]))
    assert tx_payload([request]) == (
        b'{"bus":"0","type":"tx","frame":[{"id":2015,"dlc":8,"rtr":false,"extd":false,'
        b'"data":[2,1,91,170,170,170,170,170]}]}'
    )


def test_tx_message_for_several_frames() -> None:
    message = tx_message(
        [CanFrame(0x18DADBF1, True, bytes.fromhex("03 22 90 02")), CanFrame(0x79B, False, b"")]
    )
    assert message == {
        "bus": "0",
        "type": "tx",
        "frame": [
            {"id": 0x18DADBF1, "dlc": 4, "rtr": False, "extd": True, "data": [3, 0x22, 0x90, 2]},
            {"id": 0x79B, "dlc": 0, "rtr": False, "extd": False, "data": []},
        ],
    }


def test_tx_round_trips_through_rx_parser() -> None:
    frames = [CanFrame(0x79B, False, bytes.fromhex("02 21 01 00 00 00 00 00"))]
    echoed = json.loads(tx_payload(frames))
    echoed["type"] = "rx"
    assert parse_rx(json.dumps(echoed)) == frames


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        ('{"status": "online"}', "online"),
        ('{"status":"online"}', "online"),
        (b'{"status": "offline"}', "offline"),
        ('{ "status" : "ONLINE" }', "online"),
        ("online", "online"),
        (b"offline\n", "offline"),
        ('{"status": "sleeping"}', None),
        ('{"state": "online"}', None),
        ('{"status": 1}', None),
        ("[]", None),
        ("", None),
        (b"\xff", None),
        ("{broken", None),
    ],
)
def test_parse_status(payload: str | bytes, state: str | None) -> None:
    assert parse_status(payload) == state
