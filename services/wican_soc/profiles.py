"""Vehicle profiles: one YAML file per car family, validated with pydantic.

Built-ins live in `profiles/` next to this module; `load_profiles(extra_dir)` adds a user
folder whose files override built-ins of the same file name (the profile key is the file
name without `.yaml`/`.yml`). Value formulas use the names of `expression.py` (P0 = SID).
A value named `soc` or `soc_*` without `min`/`max` gets the plausibility range 0..100.

Every profile says how sure it is (`confidence`) and where its layout comes from
(`sources`), and what its `soc` means (`soc_is`): the dashboard's number where the profile
knows a formula for it, otherwise the battery controller's. A battery-controller value next
to a dashboard `soc` is called `soc_bms`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.wican_soc.expression import Expression, compile_expression
from shared.contract.payloads import VehicleState
from shared.isotp import IsoTpReceiver, segment
from shared.yaml_text import load_yaml

BUILTIN_DIR = Path(__file__).with_name("profiles")
MAX_STD_ID = 0x7FF
MAX_EXT_ID = 0x1FFFFFFF
VALID_ST_MIN = (*range(0x00, 0x80), *range(0xF1, 0xFA))


#: names a value may not have: the published payload's own fields (``soc`` is the first value)
RESERVED_VALUE_NAMES = frozenset(VehicleState.model_fields) - {"soc"}


def check_value_names(names: Iterable[str]) -> None:
    """A value named like a field of the SoC payload (``time``, ``vehicle``...) would
    overwrite it: refused when the profile or the vehicle's AutoPID map is loaded."""
    taken = sorted(set(names) & RESERVED_VALUE_NAMES)
    if taken:
        raise ValueError(
            f"value name(s) {', '.join(taken)} are fields of the published SoC payload "
            "itself (docs/vehicles.md): choose another name"
        )


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file, field and reason."""


def _can_id(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 16)
        except ValueError:
            raise ValueError(f"CAN id {value!r} is not hex like 0x7BB") from None
    return value


def _hex_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a quoted hex string like '22 01 01', got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{value!r} is not hex bytes like '22 01 01'") from None


def _expression(value: Any) -> Any:
    if isinstance(value, str):
        return compile_expression(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return compile_expression(str(value))
    return value


CanId = Annotated[int, BeforeValidator(_can_id), Field(ge=0, le=MAX_EXT_ID)]
HexBytes = Annotated[bytes, BeforeValidator(_hex_bytes)]
Byte = Annotated[int, Field(ge=0, le=0xFF)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class FlowControlSpec(_Strict):
    """The Flow Control we answer a First Frame with: `30 <block_size> <st_min>`."""

    block_size: Byte = 0
    st_min: Byte = 0
    pad: bool = True

    @field_validator("st_min")
    @classmethod
    def _st_min(cls, value: int) -> int:
        if value not in VALID_ST_MIN:
            raise ValueError("STmin must be 0x00..0x7F (ms) or 0xF1..0xF9 (100..900 us)")
        return value


class RawFrame(_Strict):
    """A raw CAN frame sent before the request (e.g. to open a diagnostic session)."""

    id: CanId
    extended: bool = False
    data: Annotated[HexBytes, Field(min_length=1, max_length=8)]

    @model_validator(mode="after")
    def _id_fits(self) -> RawFrame:
        if not self.extended and self.id > MAX_STD_ID:
            raise ValueError(f"id 0x{self.id:X} needs extended: true (more than 11 bits)")
        return self


class ValueSpec(_Strict):
    """One value decoded from the reply payload."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    unit: str
    expr: Annotated[Expression, BeforeValidator(_expression)]
    min: float | None = None
    max: float | None = None
    #: values this one is computed from: when one of them is rejected, so is this one
    #: (a clamped dashboard formula must not turn a garbage raw value into 100 %)
    requires: list[str] = []
    #: a result at most this far outside min..max is clamped to it (a formula's rounding
    #: at 0 % or 100 %); anything further out is rejected as implausible
    clamp_margin: float = Field(0.0, ge=0, le=10)
    description: str = ""

    @model_validator(mode="after")
    def _range(self) -> ValueSpec:
        if self.name == "soc" or self.name.startswith("soc_"):
            self.min = 0.0 if self.min is None else self.min
            self.max = 100.0 if self.max is None else self.max
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is larger than max {self.max}")
        return self


class Source(_Strict):
    """One public source of a profile: which project, which file, and what it confirms."""

    project: Annotated[str, Field(min_length=1)]
    file: Annotated[str, Field(min_length=1)]
    confirms: Annotated[str, Field(min_length=1)]


class ExtendedAddress(_Strict):
    """ISO-TP extended addressing: `ecu` starts every frame we send (request and Flow
    Control), `tester` every frame of the reply (BMW: 0x07 and 0xF1)."""

    ecu: Byte
    tester: Byte


#: 11-bit physical reply ids of OBD ECUs (answers to the functional id 0x7DF)
OBD_REPLY_IDS = range(0x7E8, 0x7F0)
#: 29-bit normal-fixed reply ids to the tester 0xF1: 0x18DAF1<ecu>
FIXED_REPLY_BASE = 0x18DAF100


class TestVector(_Strict):
    """Reply frames (data only, all from `response_id`) and the values they decode to."""

    __test__ = False  # not a pytest class

    frames: Annotated[
        list[Annotated[HexBytes, Field(min_length=1, max_length=8)]], Field(min_length=1)
    ]
    expected: Annotated[dict[str, float], Field(min_length=1)]


Confidence = Literal["captured", "cross-checked", "single-source"]


class Profile(_Strict):
    """How to ask one vehicle family for its SoC and decode the answer.

    confidence: `captured` (a real recording is the test vector), `cross-checked` (at least
    two independent public decoders agree on ids, request, bytes and scale) or
    `single-source` (then `no_second_source` says where a second one was looked for).
    """

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    confidence: Confidence
    sources: Annotated[list[Source], Field(min_length=1)]
    no_second_source: str = ""
    #: what `soc` is: what the dashboard shows, or the battery controller's own value
    soc_is: Literal["dashboard", "battery-controller"]
    extended: bool = False  # before the ids: their validator reads it
    request_id: CanId
    response_id: CanId
    #: the request goes to a functional id; accept the reply of any ECU (0x7E8..0x7EF,
    #: or 0x18DAF1xx) and send its Flow Control to that ECU's physical id
    any_responder: bool = False
    extended_address: ExtendedAddress | None = None
    request: Annotated[HexBytes, Field(min_length=1, max_length=7)]
    #: reply payload lengths this layout is known for; another length is rejected (empty: any)
    payload_lengths: list[Annotated[int, Field(ge=1, le=4095)]] = []
    init_frames: list[RawFrame] = []
    flow_control: FlowControlSpec = FlowControlSpec()
    pad_byte: Byte = 0x00
    values: Annotated[list[ValueSpec], Field(min_length=1)]
    test_vector: TestVector

    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _confidence(self) -> Profile:
        projects = {source.project.strip().lower() for source in self.sources}
        if self.confidence == "cross-checked" and len(projects) < 2:
            raise ValueError("confidence cross-checked needs sources from two projects")
        if self.confidence == "single-source" and not self.no_second_source.strip():
            raise ValueError("confidence single-source needs no_second_source: where you looked")
        if self.confidence != "single-source" and self.no_second_source:
            raise ValueError(f"no_second_source is only for single-source, not {self.confidence}")
        names = {value.name for value in self.values}
        if "soc_bms" in names and self.soc_is != "dashboard":
            raise ValueError("soc_bms next to a battery-controller soc: set soc_is: dashboard")
        if self.extended_address is not None and len(self.request) > 6:
            raise ValueError("request: at most 6 bytes fit a single frame with extended_address")
        if self.any_responder and not self._functional_reply(self.response_id):
            raise ValueError(
                f"any_responder: response_id 0x{self.response_id:X} is not an ECU reply id "
                "(0x7E8..0x7EF or 0x18DAF1xx)"
            )
        return self

    def _functional_reply(self, can_id: int) -> bool:
        if self.extended:
            return can_id & 0xFFFFFF00 == FIXED_REPLY_BASE
        return can_id in OBD_REPLY_IDS

    def answers(self, can_id: int, extended: bool) -> bool:
        """True for a frame id the reply may come from."""
        if extended != self.extended:
            return False
        if self.any_responder:
            return self._functional_reply(can_id)
        return can_id == self.response_id

    def flow_control_id(self, response_id: int) -> int:
        """Where the Flow Control for a reply from `response_id` goes."""
        if not self.any_responder:
            return self.request_id
        if self.extended:  # 0x18DAF1<ecu> -> 0x18DA<ecu>F1
            return 0x18DA00F1 | ((response_id & 0xFF) << 8)
        return response_id - 8  # 0x7E8 -> 0x7E0

    @field_validator("values")
    @classmethod
    def _soc_first(cls, values: list[ValueSpec]) -> list[ValueSpec]:
        names = [value.name for value in values]
        if names[0] != "soc":
            raise ValueError(f"the first value must be 'soc', got '{names[0]}'")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate value name(s): {', '.join(duplicates)}")
        check_value_names(names)
        for value in values:
            if value.name in value.requires:
                raise ValueError(f"{value.name}: cannot require itself")
            unknown = sorted(set(value.requires) - set(names))
            if unknown:
                raise ValueError(f"{value.name}: requires unknown value(s): {', '.join(unknown)}")
        return values

    @field_validator("request_id", "response_id")
    @classmethod
    def _id_width(cls, value: int, info: ValidationInfo) -> int:
        if not info.data.get("extended", False) and value > MAX_STD_ID:
            raise ValueError(f"0x{value:X} does not fit 11 bits; set extended: true")
        return value

    @field_validator("test_vector")
    @classmethod
    def _expected_names(cls, vector: TestVector, info: ValidationInfo) -> TestVector:
        names = {value.name for value in info.data.get("values", [])}
        unknown = sorted(set(vector.expected) - names)
        if names and unknown:
            raise ValueError(f"expected names unknown value(s): {', '.join(unknown)}")
        return vector

    @property
    def path(self) -> Path | None:
        """File the profile was loaded from."""
        return self._path

    def request_frame(self) -> bytes:
        """The request as an ISO-TP single frame, padded to 8 bytes with `pad_byte`."""
        address = self.extended_address.ecu if self.extended_address else None
        return segment(self.request, self.pad_byte, address)[0]

    def new_receiver(
        self, n_cr_timeout: float = 1.0, response_id: int | None = None
    ) -> IsoTpReceiver:
        """An ISO-TP receiver for a reply from `response_id` (default: the profile's)."""
        address = self.extended_address
        return IsoTpReceiver(
            self.response_id if response_id is None else response_id,
            self.extended,
            fc_block_size=self.flow_control.block_size,
            fc_st_min=self.flow_control.st_min,
            fc_pad=self.flow_control.pad,
            n_cr_timeout=n_cr_timeout,
            fc_pad_byte=self.pad_byte,
            address=address.tester if address else None,
            fc_address=address.ecu if address else None,
        )


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def load_profile(path: Path) -> Profile:
    """Read and validate one profile file."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: must be a YAML mapping of profile fields")
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(error['loc'])}: {error['msg']}" for error in exc.errors())
        raise ProfileError(f"{path}: {problems}") from None
    profile._path = path
    return profile


def _folder(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise ProfileError(f"{folder}: profile folder does not exist")
    found: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        if path.stem in found:
            raise ProfileError(f"{path}: same profile name as {found[path.stem]}")
        found[path.stem] = path
    return found


def load_profiles(extra_dir: Path | None = None) -> dict[str, Profile]:
    """All profiles by file name; files in `extra_dir` override built-ins of the same name."""
    paths = _folder(BUILTIN_DIR)
    if extra_dir is not None:
        paths.update(_folder(Path(extra_dir)))
    return {key: load_profile(path) for key, path in sorted(paths.items())}
