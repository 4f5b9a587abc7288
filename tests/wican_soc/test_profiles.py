"""Built-in vehicle profiles, their test vectors, and the profile loader."""

import copy
import re
from pathlib import Path

import pytest
import yaml
from wican_soc.builtin_profiles import builtin_profiles

from services.wican_soc.decode import decode_values
from services.wican_soc.profiles import (
    BUILTIN_DIR,
    Profile,
    ProfileError,
    load_profile,
    load_profiles,
)
from shared.isotp import Message, SendFlowControl, TransferError
from shared.wican_payload import parse_rx

VECTORS = Path(__file__).parent / "vectors"
BUILTINS = builtin_profiles()
LEAF_ZE1 = BUILTIN_DIR / "nissan-leaf-ze1.yaml"


def receive(profile: Profile, frames: list[bytes]) -> tuple[list[Message], list[SendFlowControl]]:
    """Feed reply frames (interleaved with bus noise) into the profile's receiver."""
    receiver = profile.new_receiver()
    messages, flow_controls = [], []
    noise_id = 0x5C0 if profile.response_id != 0x5C0 else 0x5C1
    for index, data in enumerate(frames):
        for can_id, extended, frame in [
            (noise_id, False, bytes.fromhex("21 00 00 00 00 00 00 00")),
            (profile.response_id, not profile.extended, data),
            (profile.response_id, profile.extended, data),
        ]:
            for event in receiver.feed(can_id, extended, frame, index * 0.01):
                assert not isinstance(event, TransferError), event
                if isinstance(event, Message):
                    messages.append(event)
                else:
                    flow_controls.append(event)
    return messages, flow_controls


def test_at_least_thirty_five_vehicle_families_across_makes() -> None:
    assert len(BUILTINS) >= 35
    makes = {key.split("-")[0] for key in BUILTINS}
    assert {"nissan", "hyundai", "vw", "renault", "byd", "mg", "volvo", "bmw", "jaguar"} <= makes
    assert {
        "nissan-leaf-ze0",
        "nissan-leaf-ze1",
        "renault-zoe-ph2",
        "renault-zoe-ph1-kangoo",
        "vw-e-up",
        "bmw-i3-mini-se",
        "jaguar-i-pace",
        "ford-mustang-mach-e",
        "chevrolet-volt-ampera",
        "kia-soul-ev-2014",
        "honda-e",
    } <= set(BUILTINS)


@pytest.mark.parametrize("key", sorted(BUILTINS))
def test_builtin_profile_is_complete(key: str) -> None:
    profile = BUILTINS[key]
    assert profile.path == BUILTIN_DIR / f"{key}.yaml"
    assert all(s.project and s.file and s.confirms for s in profile.sources)
    assert profile.values[0].name == "soc"
    assert profile.values[0].unit == "%"
    assert (profile.values[0].min, profile.values[0].max) == (0.0, 100.0)
    assert set(profile.test_vector.expected) == {value.name for value in profile.values}
    if profile.confidence == "captured":
        assert key == "nissan-leaf-ze1"
    else:
        assert "written from the documented layout (no capture yet)" in profile.description
    if profile.confidence == "cross-checked":
        assert len({source.project for source in profile.sources}) >= 2
    if profile.confidence == "single-source":
        assert profile.no_second_source.strip()
    if "soc_bms" in {value.name for value in profile.values}:
        assert profile.soc_is == "dashboard"


def test_single_source_profiles_are_exactly_these() -> None:
    """Downgrading a profile (or finding a second source) is a conscious change."""
    single = {key for key, p in BUILTINS.items() if p.confidence == "single-source"}
    assert single == {
        "chevrolet-volt-ampera",
        "dacia-spring",
        "ford-mustang-mach-e",
        "geely-geometry-c",
        "honda-e",
        "kgm-torres-evx",
        "kia-niro-phev",
        "kia-soul-ev-2014",
        "maxus-edeliver3-euniq5",
        "maxus-euniq6",
        "mg-zs-ev-2019",
        "mitsubishi-outlander-phev-2023",
        "nissan-ariya",
        "nissan-leaf-ze0",
        "porsche-taycan",
        "renault-twizy",
        "volvo-xc40-c40-recharge",
        "vw-e-golf",
        "xpeng",
        "zeekr-001-volvo-xc60-phev",
    }


@pytest.mark.parametrize("key", sorted(BUILTINS))
def test_builtin_request_frame_is_a_padded_single_frame(key: str) -> None:
    profile = BUILTINS[key]
    frame = profile.request_frame()
    assert len(frame) == 8
    if profile.extended_address is not None:
        assert frame[0] == profile.extended_address.ecu
        frame = frame[1:] + bytes([profile.pad_byte])
    assert frame[0] == len(profile.request)
    assert frame[1 : 1 + len(profile.request)] == profile.request
    assert frame[1 + len(profile.request) :] == bytes([profile.pad_byte]) * (
        7 - len(profile.request)
    )


@pytest.mark.parametrize("key", sorted(BUILTINS))
def test_builtin_test_vector_decodes_to_expected_values(key: str) -> None:
    profile = BUILTINS[key]
    messages, flow_controls = receive(profile, profile.test_vector.frames)
    assert len(messages) == 1
    multi_frame = profile.test_vector.frames[0][0] >> 4 == 1
    if profile.extended_address is not None:
        multi_frame = profile.test_vector.frames[0][1] >> 4 == 1
    assert len(flow_controls) == (1 if multi_frame else 0)
    if multi_frame:
        head = bytes([profile.extended_address.ecu]) if profile.extended_address else b""
        assert flow_controls[0].data[: len(head) + 3] == head + bytes(
            [0x30, profile.flow_control.block_size, profile.flow_control.st_min]
        )
    result = decode_values(profile, messages[0].payload)
    assert result.rejected == []
    assert list(result.values) == [value.name for value in profile.values]
    for name, expected in profile.test_vector.expected.items():
        assert result.values[name] == pytest.approx(expected, abs=1e-6), name


def test_real_leaf_ze1_capture_decodes_to_dashboard_and_lbc_soc() -> None:
    profile = BUILTINS["nissan-leaf-ze1"]
    lines = (VECTORS / "nissan-leaf-ze1.rx.jsonl").read_bytes().splitlines()
    receiver = profile.new_receiver()
    events = []
    for index, line in enumerate(lines):
        for frame in parse_rx(line):
            events += receiver.feed(frame.id, frame.extended, frame.data, index * 0.012)
    assert events[0] == SendFlowControl(bytes.fromhex("30 00 00 00 00 00 00 00"))
    assert isinstance(events[-1], Message) and len(events) == 2
    payload = events[-1].payload
    assert len(payload) == 53 and payload[:2] == bytes.fromhex("61 01")
    result = decode_values(profile, payload)
    assert result.values["soc_bms"] == pytest.approx(82.1002)
    assert result.soc == pytest.approx(1.211 * 82.1002 - 15)
    assert result.soc is not None and round(result.soc) == 84  # what the dashboard showed
    assert result.values["hx"] == pytest.approx(0x2242 / 102.4)
    assert profile.soc_is == "dashboard"


def test_leaf_ze1_test_vector_is_the_real_capture() -> None:
    profile = BUILTINS["nissan-leaf-ze1"]
    lines = (VECTORS / "nissan-leaf-ze1.rx.jsonl").read_bytes().splitlines()
    captured = [frame.data for line in lines for frame in parse_rx(line)]
    assert profile.test_vector.frames == captured
    assert profile.confidence == "captured"
    assert profile.request_frame() == bytes.fromhex("02 21 01 00 00 00 00 00")


def test_leaf_generations_differ_in_payload_length() -> None:
    ze0 = BUILTINS["nissan-leaf-ze0"]
    messages, _ = receive(ze0, ze0.test_vector.frames)
    assert len(messages[0].payload) == 41
    result = decode_values(BUILTINS["nissan-leaf-ze1"], messages[0].payload)
    assert result.soc is None
    assert {r.reason for r in result.rejected} == {"reply of 41 bytes; this layout is known for 53"}
    # even without the length check the clamped dashboard formula would not hide the garbage
    any_length = BUILTINS["nissan-leaf-ze1"].model_copy(update={"payload_lengths": []})
    result = decode_values(any_length, messages[0].payload)
    reasons = {rejected.name: rejected.reason for rejected in result.rejected}
    assert reasons["soc"] == "computed from rejected soc_bms"
    assert reasons["soc_bms"].startswith("implausible: 399.7")


def test_leaf_ze1_start_up_reply_of_44_bytes_is_rejected() -> None:
    ze1 = BUILTINS["nissan-leaf-ze1"]
    capture = next(iter(receive(ze1, ze1.test_vector.frames)[0])).payload
    result = decode_values(ze1, capture[:44])
    assert result.values == {}
    assert result.rejected[0].reason == "reply of 44 bytes; this layout is known for 53"


# --- loader -------------------------------------------------------------------------


def leaf_raw() -> dict:
    return yaml.safe_load(LEAF_ZE1.read_text())


def write(folder: Path, name: str, raw: object) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw) if not isinstance(raw, str) else raw)
    return path


def test_user_folder_overrides_builtin_and_adds_profiles(tmp_path: Path) -> None:
    custom = leaf_raw()
    custom["name"] = "My Leaf"
    custom["values"][0]["expr"] = "1.211 * be(P33, P34, P35) / 10000 - 15"
    custom["test_vector"]["expected"] = {"soc": 84.4233422}
    write(tmp_path, "nissan-leaf-ze1.yaml", custom)
    extra = copy.deepcopy(custom)
    extra["name"] = "Another car"
    write(tmp_path, "another-car.yml", extra)
    (tmp_path / "notes.txt").write_text("not a profile")
    profiles = load_profiles(tmp_path)
    assert profiles["nissan-leaf-ze1"].name == "My Leaf"
    assert profiles["nissan-leaf-ze1"].path == tmp_path / "nissan-leaf-ze1.yaml"
    assert profiles["another-car"].name == "Another car"
    assert profiles["vw-meb"].path == BUILTIN_DIR / "vw-meb.yaml"
    assert len(profiles) == len(BUILTINS) + 1


def test_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles(tmp_path / "nope")


def test_same_name_twice_in_one_folder_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "car.yaml", leaf_raw())
    write(tmp_path, "car.yml", leaf_raw())
    with pytest.raises(ProfileError, match="same profile name"):
        load_profiles(tmp_path)


def test_bad_user_profile_fails_loading_with_its_path(tmp_path: Path) -> None:
    raw = leaf_raw()
    del raw["sources"]
    path = write(tmp_path, "broken.yaml", raw)
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path)
    assert str(path) in str(info.value) and "sources" in str(info.value)


def test_ids_may_be_hex_strings_and_init_frames_parse(tmp_path: Path) -> None:
    raw = leaf_raw()
    raw["request_id"] = "0x79B"
    raw["response_id"] = "7BB"
    raw["init_frames"] = [
        {"id": "0x79B", "data": "02 10 C0"},
        {"id": 0x18DADBF1, "extended": True, "data": "02 3E 00"},
    ]
    profile = load_profile(write(tmp_path, "x.yaml", raw))
    assert (profile.request_id, profile.response_id) == (0x79B, 0x7BB)
    assert profile.init_frames[0].data == bytes.fromhex("02 10 C0")
    assert profile.init_frames[1].extended


def test_plausibility_defaults(tmp_path: Path) -> None:
    raw = leaf_raw()
    raw["values"].append({"name": "aux_voltage", "unit": "V", "expr": "P3 / 10"})
    raw["values"][0]["max"] = 105
    profile = load_profile(write(tmp_path, "x.yaml", raw))
    ranges = {value.name: (value.min, value.max) for value in profile.values}
    assert ranges["soc"] == (0.0, 105.0)
    assert ranges["soc_bms"] == (0.0, 100.0)
    assert ranges["aux_voltage"] == (None, None)


def _set(path: str, value: object):
    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(key: str):
    return lambda raw: raw.pop(key)


def _append_value(raw: dict) -> None:
    raw["values"].append(dict(raw["values"][2]))


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (_delete("sources"), "sources", "Field required"),
        (_set("sources", []), "sources", "at least 1 item"),
        (_set("sources.0.file", ""), "sources[0].file", "at least 1 character"),
        (_set("sources.0.confirms", None), "sources[0].confirms", "valid string"),
        (_delete("values"), "values", "Field required"),
        (_set("confidence", "guessed"), "confidence", "'captured', 'cross-checked' or"),
        (_set("soc_is", "bms"), "soc_is", "'dashboard' or 'battery-controller'"),
        (_delete("soc_is"), "soc_is", "Field required"),
        (_set("request", 2101), "request", "quoted hex string"),
        (_set("request", "21 0G"), "request", "not hex bytes"),
        (_set("request", "22 01 02 03 04 05 06 07"), "request", "at most 7"),
        (_set("request", ""), "request", "at least 1"),
        (_set("response_id", 0x800), "response_id", "0x800 does not fit 11 bits"),
        (_set("request_id", "0xZZ"), "request_id", "not hex"),
        (_set("request_id", 0x20000000), "request_id", "less than or equal"),
        (_set("pad_byte", 256), "pad_byte", "less than or equal to 255"),
        (_set("colour", "red"), "colour", "Extra inputs are not permitted"),
        (_set("values.1.expr", "P3 +"), "values[1].expr", "syntax error"),
        (_set("values.1.expr", "open('x')"), "values[1].expr", "function 'open' is not allowed"),
        (_set("values.2.unit", None), "values[2].unit", "valid string"),
        (_set("values.2.name", "State Of Health"), "values[2].name", "pattern"),
        (_set("values.0.name", "hx"), "values", "first value must be 'soc'"),
        (_append_value, "values", "duplicate value name(s): hx"),
        (_set("values.2.name", "time"), "values", "time are fields of the published SoC payload"),
        (_set("values.2.name", "vehicle"), "values", "vehicle are fields of the published"),
        (_set("values.0.requires", ["range"]), "values", "soc: requires unknown value(s): range"),
        (_set("values.1.requires", ["soc_bms"]), "values", "soc_bms: cannot require itself"),
        (_set("values.2.min", 200), "values[2]", "min 200.0 is larger than max 150.0"),
        (_set("values.0.offset", 1), "values[0].offset", "Extra inputs"),
        (_set("flow_control.st_min", 0x80), "flow_control.st_min", "STmin"),
        (_set("flow_control.block_size", -1), "flow_control.block_size", "greater than"),
        (
            _set("test_vector.frames.0", "10 35 61 01 FF FF FC 18 00"),
            "test_vector.frames[0]",
            "at most 8",
        ),
        (_set("test_vector.frames", []), "test_vector.frames", "at least 1"),
        (
            _set("test_vector.expected", {"soc": 1, "range": 2}),
            "test_vector",
            "unknown value(s): range",
        ),
        (_delete("test_vector"), "test_vector", "Field required"),
        (_set("init_frames", [{"id": 0x7E4, "data": "zz"}]), "init_frames[0].data", "not hex"),
        (_set("init_frames", [{"id": 0x18DADBF1, "data": "02"}]), "init_frames[0]", "extended"),
    ],
)
def test_malformed_profile_names_file_field_and_reason(
    tmp_path: Path, mutate, field: str, reason: str
) -> None:
    raw = leaf_raw()
    mutate(raw)
    path = write(tmp_path, "bad-car.yaml", raw)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert f"{field}: " in message
    assert reason in message


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: [unclosed\n")
    with pytest.raises(ProfileError, match="invalid YAML") as info:
        load_profile(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", ""])
def test_profile_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ProfileError, match="must be a YAML mapping"):
        load_profile(path)


def test_unreadable_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.yaml")


# --- confidence, sources and what soc means -------------------------------------------

OTHER_SOURCE = {"project": "another decoder", "file": "x.py", "confirms": "ids and SoC bytes"}


def _with(**fields):
    def mutate(raw: dict) -> None:
        raw.update(fields)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            _with(confidence="cross-checked", sources=[OTHER_SOURCE]),
            "cross-checked needs sources from two projects",
        ),
        (
            _with(confidence="cross-checked", sources=[OTHER_SOURCE, dict(OTHER_SOURCE)]),
            "cross-checked needs sources from two projects",
        ),
        (_with(confidence="single-source"), "single-source needs no_second_source"),
        (_with(confidence="single-source", no_second_source="  "), "needs no_second_source"),
        (_with(no_second_source="looked everywhere"), "only for single-source, not captured"),
        (_with(soc_is="battery-controller"), "soc_bms next to a battery-controller soc"),
        (
            _with(extended_address={"ecu": 7, "tester": 0xF1}, request="22 01 02 03 04 05 06"),
            "at most 6 bytes fit a single frame with extended_address",
        ),
        (_with(any_responder=True), "response_id 0x7BB is not an ECU reply id"),
        (_with(extended_address={"ecu": 7}), "extended_address.tester: Field required"),
        (_with(extended_address={"ecu": 256, "tester": 1}), "less than or equal to 255"),
    ],
)
def test_confidence_and_addressing_rules(tmp_path: Path, mutate, reason: str) -> None:
    raw = leaf_raw()
    mutate(raw)
    with pytest.raises(ProfileError, match=re.escape(reason)):
        load_profile(write(tmp_path, "bad.yaml", raw))


def test_single_source_with_its_note_loads(tmp_path: Path) -> None:
    raw = leaf_raw()
    raw.update(confidence="single-source", no_second_source="OVMS has no such car")
    assert load_profile(write(tmp_path, "ok.yaml", raw)).confidence == "single-source"


def test_extended_address_frames_the_request_and_the_receiver() -> None:
    bmw = BUILTINS["bmw-i3-mini-se"]
    assert bmw.request_frame() == bytes.fromhex("07 03 22 DD BC 00 00 00")
    receiver = bmw.new_receiver()
    assert receiver.flow_control == bytes.fromhex("07 30 00 00 00 00 00 00")
    # a normal-addressing reply on the same id is not this car's
    assert receiver.feed(0x607, False, bytes.fromhex("03 62 DD BC 00 00 00 00"), 0.0) == []


@pytest.mark.parametrize(
    ("key", "reply_id", "flow_control_id", "answers"),
    [
        ("mitsubishi-outlander-phev-2023", 0x18DAF1DB, 0x18DADBF1, True),
        ("mitsubishi-outlander-phev-2023", 0x18DAF117, 0x18DA17F1, True),
        ("mitsubishi-outlander-phev-2023", 0x18DAF2DB, None, False),
        ("obd2-hybrid-battery", 0x7E8, 0x7E0, True),
        ("obd2-hybrid-battery", 0x7EF, 0x7E7, True),
        ("obd2-hybrid-battery", 0x7F0, None, False),
        ("obd2-hybrid-battery", 0x7E7, None, False),
        ("jaguar-i-pace", 0x7EC, 0x7E4, True),
        ("jaguar-i-pace", 0x7ED, None, False),
    ],
)
def test_functional_requests_accept_any_ecu(key, reply_id, flow_control_id, answers) -> None:
    profile = BUILTINS[key]
    assert profile.answers(reply_id, profile.extended) is answers
    assert not profile.answers(reply_id, not profile.extended)
    if answers:
        assert profile.flow_control_id(reply_id) == flow_control_id
