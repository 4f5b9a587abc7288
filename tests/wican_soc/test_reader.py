"""VehicleReader: WiCAN frames in, Flow Control and decoded values out."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from wican_soc.builtin_profiles import builtin_profiles

from services.wican_soc.publication import publications, soc_message, units_of
from services.wican_soc.reader import Dropped, Reading, SendFrame, VehicleReader
from services.wican_soc.vehicles import VehicleConfig
from shared.wican_payload import CanFrame, parse_rx

PROFILES = builtin_profiles()
LEAF = PROFILES["nissan-leaf-ze1"]
VECTOR = Path(__file__).parent / "vectors" / "nissan-leaf-ze1.rx.jsonl"


def leaf_frames() -> list[CanFrame]:
    return [CanFrame(0x7BB, False, data) for data in LEAF.test_vector.frames]


def readings(outcomes):
    return [o for o in outcomes if isinstance(o, Reading)]


def test_first_frame_asks_for_flow_control_to_the_request_id():
    reader = VehicleReader(LEAF)
    outcomes = reader.feed(leaf_frames()[:1], 0.0)
    assert outcomes == [SendFrame(CanFrame(0x79B, False, bytes([0x30, 0, 0, 0, 0, 0, 0, 0])))]


def test_capture_decodes_to_the_documented_soc():
    reader = VehicleReader(LEAF)
    outcomes = []
    for line in VECTOR.read_text().splitlines():
        outcomes += reader.feed(parse_rx(line), 0.0)
    (reading,) = readings(outcomes)
    assert reading.result.soc == pytest.approx(84.423342)  # dashboard
    assert reading.result.values["soc_bms"] == pytest.approx(82.1002)


def test_frames_batched_in_one_message_with_unrelated_traffic():
    noise = [CanFrame(0x5C0, False, bytes(8)), CanFrame(0x7BB, True, bytes(8))]
    frames = leaf_frames()
    batch = [noise[0], *frames[:4], noise[1], *frames[4:]]
    outcomes = VehicleReader(LEAF).feed(batch, 0.0)
    assert len([o for o in outcomes if isinstance(o, SendFrame)]) == 1
    assert readings(outcomes)[0].result.values["soc_bms"] == pytest.approx(82.1002)
    assert not [o for o in outcomes if isinstance(o, Dropped)]


def test_wrong_sequence_number_drops_the_transfer():
    frames = leaf_frames()
    bad = CanFrame(0x7BB, False, bytes([0x24]) + frames[2].data[1:])
    outcomes = VehicleReader(LEAF).feed([frames[0], frames[1], bad, *frames[3:]], 0.0)
    assert not readings(outcomes)
    assert "sequence mismatch" in [o for o in outcomes if isinstance(o, Dropped)][0].reason


def test_stalled_transfer_is_dropped_after_the_timeout():
    reader = VehicleReader(LEAF, n_cr_timeout_s=1.0)
    reader.feed(leaf_frames()[:3], 0.0)
    assert reader.poll(0.9) == []
    (dropped,) = reader.poll(1.1)
    assert "timeout" in dropped.reason


def test_reset_forgets_a_transfer():
    reader = VehicleReader(LEAF)
    reader.feed(leaf_frames()[:3], 0.0)
    reader.reset()
    assert reader.poll(100.0) == []


def test_negative_response_is_rejected_with_the_nrc():
    reply = CanFrame(0x7BB, False, bytes([0x03, 0x7F, 0x21, 0x31, 0, 0, 0, 0]))
    (reading,) = readings(VehicleReader(LEAF).feed([reply], 0.0))
    assert reading.result.soc is None
    assert "requestOutOfRange" in reading.result.rejected[0].reason


def test_implausible_soc_is_rejected():
    dacia = PROFILES["dacia-spring"]  # soc = P3 / 2
    reply = CanFrame(dacia.response_id, False, bytes([0x04, 0x62, 0x90, 0x02, 0xFA, 0, 0, 0]))
    (reading,) = readings(VehicleReader(dacia).feed([reply], 0.0))
    assert reading.result.soc is None
    assert "implausible" in reading.result.rejected[0].reason


# --- publication ------------------------------------------------------------------------

VEHICLE = VehicleConfig(name="leaf", device_id="84f703406f75", profile="nissan-leaf-ze1")
WHEN = datetime(2025, 5, 1, 18, 2, 11, 500000, tzinfo=timezone(timedelta(hours=2)))
LEAF_UNITS = units_of(LEAF)
VALUES = {"soc": 84.423342, "soc_bms": 82.10024, "hx": 85.644531}


def test_soc_message_layout():
    # in this order too: soc and time first, the profile's values, the vehicle last
    assert list(soc_message(VEHICLE, VALUES, WHEN).items()) == [
        ("soc", 84.4233),
        ("time", "2025-05-01T18:02:11+02:00"),
        ("soc_bms", 82.1002),
        ("hx", 85.6445),
        ("vehicle", "leaf"),
    ]


def test_publications_are_retained_with_expiry_and_car_soc_last():
    out = publications("canbridge", VEHICLE, LEAF_UNITS, VALUES, WHEN)
    topics = [o.topic for o in out]
    assert topics == [
        "canbridge/vehicle/leaf/soc",
        "canbridge/vehicle/leaf/soc_bms",
        "canbridge/vehicle/leaf/hx",
        "canbridge/vehicle/leaf/state",
        "car/soc",
    ]
    assert all(o.retain and o.expiry_s == 7 * 24 * 3600 for o in out)
    assert out[0].payload == b"84.4233"
    assert b'"units":{"soc":"%"' in out[3].payload


def test_outputs_can_be_switched_off():
    quiet = VEHICLE.model_copy(update={"soc_topic": "", "value_topics": False, "expiry_s": 0})
    out = publications("canbridge", quiet, LEAF_UNITS, VALUES, WHEN)
    assert [o.topic for o in out] == ["canbridge/vehicle/leaf/state"]
    assert out[0].expiry_s is None


def test_no_publication_without_soc_or_zone():
    with pytest.raises(ValueError):
        publications("canbridge", VEHICLE, LEAF_UNITS, {"hx": 90.0}, WHEN)
    with pytest.raises(ValueError):
        publications("canbridge", VEHICLE, LEAF_UNITS, VALUES, WHEN.replace(tzinfo=None))
    assert publications("canbridge", VEHICLE, LEAF_UNITS, VALUES, WHEN.astimezone(UTC))


# --- functional requests and extended addressing ---------------------------------------

PROFILES_ALL = builtin_profiles()


def test_functional_request_is_answered_by_whichever_ecu_knows_it():
    obd = PROFILES_ALL["obd2-hybrid-battery"]
    reader = VehicleReader(obd)
    other_ecu = CanFrame(0x7EA, False, bytes.fromhex("03 41 5B B2 AA AA AA AA"))
    (reading,) = readings(reader.feed([other_ecu], 0.0))
    assert reading.result.soc == pytest.approx(0xB2 * 100 / 255)
    assert reader.feed([CanFrame(0x7F0, False, other_ecu.data)], 0.0) == []


def test_multi_frame_reply_to_a_functional_request_gets_flow_control_at_its_ecu():
    outlander = PROFILES_ALL["mitsubishi-outlander-phev-2023"]
    reader = VehicleReader(outlander)
    first = CanFrame(0x18DAF117, True, bytes.fromhex("10 08 62 01 D1 00 A0 00"))
    (flow,) = reader.feed([first], 0.0)
    assert flow == SendFrame(CanFrame(0x18DA17F1, True, bytes.fromhex("30 00 00 00 00 00 00 00")))
    # a second ECU answering at the same time does not disturb the first transfer
    other = CanFrame(0x18DAF1DB, True, bytes.fromhex("05 62 01 D1 00 64 AA AA"))
    (other_reading,) = readings(reader.feed([other], 0.001))
    assert other_reading.result.soc == pytest.approx(0x64 * 0.64 - 19.2)
    rest = CanFrame(0x18DAF117, True, bytes.fromhex("21 00 00 AA AA AA AA AA"))
    (reading,) = readings(reader.feed([rest], 0.002))
    assert reading.result.soc == pytest.approx(0xA0 * 0.64 - 19.2)


def test_extended_addressing_reply_and_its_flow_control():
    bmw = PROFILES_ALL["bmw-i3-mini-se"]
    reader = VehicleReader(bmw)
    frames = [CanFrame(0x607, False, frame) for frame in bmw.test_vector.frames]
    outcomes = reader.feed(frames, 0.0)
    assert outcomes[0] == SendFrame(
        CanFrame(0x6F1, False, bytes.fromhex("07 30 00 00 00 00 00 00"))
    )
    assert readings(outcomes)[0].result.soc == pytest.approx(77.0)


def test_poll_and_reset_cover_every_answering_ecu():
    obd = PROFILES_ALL["obd2-hybrid-battery"]
    reader = VehicleReader(obd, n_cr_timeout_s=1.0)
    reader.feed([CanFrame(0x7E9, False, bytes.fromhex("10 09 41 5B 00 00 00 00"))], 0.0)
    (dropped,) = reader.poll(5.0)
    assert isinstance(dropped, Dropped) and "timeout" in dropped.reason
    reader.feed([CanFrame(0x7EB, False, bytes.fromhex("10 09 41 5B 00 00 00 00"))], 6.0)
    reader.reset()
    assert reader.poll(10.0) == []


def test_published_json_matches_the_topic_contract():
    from shared.contract.payloads import CarSoc, VehicleState

    out = {o.topic: o.payload for o in publications("canbridge", VEHICLE, LEAF_UNITS, VALUES, WHEN)}
    car = CarSoc.model_validate_json(out["car/soc"])
    state = VehicleState.model_validate_json(out["canbridge/vehicle/leaf/state"])
    assert (car.vehicle, state.device_id, state.units["soc"]) == ("leaf", VEHICLE.device_id, "%")
    assert set(car.model_extra or {}) == {"soc_bms", "hx"}  # the profile's other values
    # the models keep the published order: the values between time and vehicle
    assert list(json.loads(out["canbridge/vehicle/leaf/state"])) == [
        *("soc", "time", "soc_bms", "hx", "vehicle"),
        *("device_id", "profile", "units"),
    ]
