"""The vehicle list: which WiCAN adapter sits in which car, and where its values go.

One model for wican-status, wican-soc and the WiCAN simulator. Both services read
the same `vehicles:` list (in the YAML config a list under `wican-status:` can be
reused under `wican-soc:` with a YAML anchor). Errors name the vehicle and the field,
e.g. `vehicles.0: Value error, vehicle 'leaf': poll_interval_s: Input should be ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from services.wican_soc.profiles import Profile, ProfileError, check_value_names, load_profiles
from shared.contract.topics import CAR_SOC, rx_topic
from shared.settings import ServiceSettings, check_topic, describe_validation_error

#: WiCAN device ids are 12 hex digits; anything that is one MQTT topic level is accepted
DeviceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
#: used as a topic level under <base>/vehicle/
VehicleName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

DEFAULT_SOC_TOPIC = CAR_SOC
DEFAULT_EXPIRY_S = 7 * 24 * 3600
#: canbridge value names (topic levels under <base>/vehicle/<name>/)
ValueName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class AutopidInput(BaseModel):
    """The adapter decodes itself ("Automate"/AutoPID) and publishes JSON on `topic`.

    `values` maps canbridge value names to the adapter's parameter names, e.g.
    `{soc: SOC_D, soc_bms: SOC, soh: SOH}`; `soc` is required. `topic` defaults to the
    adapter's rx topic `wican/<device_id>/can/rx` (where it publishes without a destination).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = ""
    values: Annotated[
        dict[ValueName, Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1)
    ]
    #: units of the values (default: % for soc and soc_*, none otherwise)
    units: dict[ValueName, Annotated[str, Field(max_length=16)]] = {}

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        return check_topic(value) if value else value

    @field_validator("values")
    @classmethod
    def _soc(cls, value: dict[str, str]) -> dict[str, str]:
        if "soc" not in value:
            raise ValueError("needs soc: <the adapter's name of the SoC parameter>")
        check_value_names(value)
        return value

    def unit_of(self, name: str) -> str:
        if name in self.units:
            return self.units[name]
        return "%" if name == "soc" or name.startswith("soc_") else ""


class VehicleConfig(BaseModel):
    """One car with a WiCAN adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: VehicleName
    device_id: DeviceId
    #: raw: canbridge asks the car (profile); autopid: the adapter's own decoded values
    source: Literal["raw", "autopid"] = "raw"
    profile: str = ""  # file name of a profile, without .yaml (source raw)
    autopid: AutopidInput | None = None  # source autopid
    poll_interval_s: float = Field(60.0, ge=1.0, le=86400.0)  # re-request while online
    #: retained JSON {"soc", "time", ...}; "" turns it off. Two vehicles need two topics.
    soc_topic: str = DEFAULT_SOC_TOPIC
    #: retained plain numbers on <base>/vehicle/<name>/<value> (for evcc)
    value_topics: bool = True
    #: MQTT v5 message expiry of the retained values; 0 keeps them forever
    expiry_s: int = Field(DEFAULT_EXPIRY_S, ge=0, le=4294967295)

    @field_validator("soc_topic")
    @classmethod
    def _soc_topic(cls, value: str) -> str:
        return check_topic(value) if value else value

    @model_validator(mode="after")
    def _source(self) -> VehicleConfig:
        if self.source == "raw" and not self.profile:
            raise ValueError("profile: needed with source raw (or set source: autopid)")
        if self.source == "raw" and self.autopid is not None:
            raise ValueError("autopid: only with source: autopid")
        if self.source == "autopid" and self.autopid is None:
            raise ValueError("autopid: needed with source autopid, e.g. {values: {soc: SOC}}")
        if self.source == "autopid" and self.profile:
            raise ValueError("profile: not used with source autopid (the adapter decodes)")
        return self

    @property
    def autopid_topic(self) -> str:
        """Where the adapter publishes its AutoPID values."""
        assert self.autopid is not None
        return self.autopid.topic or rx_topic(self.device_id)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_vehicle(
        cls, data: Any, handler: ModelWrapValidatorHandler[VehicleConfig]
    ) -> VehicleConfig:
        try:
            return handler(data)
        except ValidationError as exc:
            name = data.get("name") if isinstance(data, dict) else None
            raise ValueError(
                f"vehicle {name!r}: {describe_validation_error(exc, '(vehicle)')}"
            ) from None

    @property
    def expiry(self) -> int | None:
        """Expiry for MqttClient.publish (None = never)."""
        return self.expiry_s or None


def check_fleet(vehicles: list[VehicleConfig], profiles: dict[str, Profile]) -> None:
    """Cross-vehicle rules: unique names, adapters and SoC topics; known profiles."""
    seen: dict[str, dict[str, str]] = {"name": {}, "device_id": {}, "soc_topic": {}}
    for vehicle in vehicles:
        if vehicle.source == "raw" and vehicle.profile not in profiles:
            known = ", ".join(sorted(profiles))
            raise ValueError(
                f"vehicle {vehicle.name!r}: profile: unknown profile {vehicle.profile!r} "
                f"(known: {known})"
            )
        for field in seen:
            value = getattr(vehicle, field)
            if not value:
                continue
            if value in seen[field]:
                hint = " (set soc_topic, e.g. car/<name>/soc)" if field == "soc_topic" else ""
                raise ValueError(
                    f"vehicle {vehicle.name!r}: {field}: {value!r} is already used by "
                    f"vehicle {seen[field][value]!r}{hint}"
                )
            seen[field][value] = vehicle.name


class FleetSettings(ServiceSettings):
    """Settings shared by wican-status and wican-soc: the vehicles and their profiles."""

    vehicles: list[VehicleConfig] = []
    #: extra profile folder; its files add to (or override) the built-in profiles
    profiles_dir: Path | None = None

    _profiles: dict[str, Profile] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _fleet(self) -> FleetSettings:
        try:
            self._profiles = load_profiles(self.profiles_dir)
        except ProfileError as exc:
            raise ValueError(f"profile file: {exc}") from None
        check_fleet(self.vehicles, self._profiles)
        return self

    @property
    def profiles(self) -> dict[str, Profile]:
        return self._profiles

    @property
    def polled_vehicles(self) -> list[VehicleConfig]:
        """The vehicles canbridge asks itself (source raw)."""
        return [v for v in self.vehicles if v.source == "raw"]

    def profile_of(self, vehicle: VehicleConfig) -> Profile:
        return self._profiles[vehicle.profile]
