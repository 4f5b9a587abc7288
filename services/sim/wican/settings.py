"""Simulator settings (config section `sim-wican`, env `CANBRIDGE_<FIELD>`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, PrivateAttr, model_validator

from services.sim.wican.recorded import load_cars
from services.wican_soc.profiles import Profile, ProfileError, load_profiles
from services.wican_soc.vehicles import DeviceId
from shared.settings import ServiceSettings


class SimWicanSettings(ServiceSettings):
    section: ClassVar[str] = "sim-wican"

    device_id: DeviceId = "d0d0cafe0001"
    profile: str = "nissan-leaf-ze1"
    profiles_dir: Path | None = None
    #: publish the status on wican/<id>/can/status (firmware 2024+) instead of wican/<id>/status
    firmware_2024_status: bool = False
    soc: float = Field(55.0, ge=0, le=100)  # SoC at start
    soc_rate_per_h: float = Field(0.0, ge=-100, le=1000)  # e.g. 10 while charging
    awake: bool = True  # online at start
    silent: bool = False  # online but the car does not answer (tests the retries)
    corrupt_transfers: int = Field(0, ge=0)  # the next N replies get a wrong sequence number
    frames_per_message: int = Field(1, ge=1, le=16)  # reply frames batched in one rx message
    noise_frames: int = Field(0, ge=0, le=16)  # unrelated CAN frames added to each rx message
    reply_delay_s: float = Field(0.0, ge=0, le=10)  # the ECU's time to answer a request
    #: answer with recorded raw replies instead of the profile (several cars / ECUs), see
    #: services/sim/wican/recorded.py
    cars_file: Path | None = None
    #: > 0: behave like an adapter in "Automate"/AutoPID mode: publish the decoded values as
    #: JSON, retained, every this many seconds while awake (instead of answering requests)
    autopid_interval_s: float = Field(0.0, ge=0, le=3600)
    autopid_topic: str = ""  # default: the rx topic wican/<id>/can/rx, as the firmware does
    autopid_soc_name: str = "SOC"  # the parameter name the adapter's profile gives the SoC

    _profile: Profile | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _known_profile(self) -> SimWicanSettings:
        try:
            profiles = load_profiles(self.profiles_dir)
        except ProfileError as exc:
            raise ValueError(f"profile file: {exc}") from None
        if self.profile not in profiles:
            raise ValueError(f"profile: unknown profile {self.profile!r}")
        self._profile = profiles[self.profile]
        if self._profile.extended_address is not None and self.cars_file is None:
            raise ValueError(
                f"profile: {self.profile!r} uses ISO-TP extended addressing, which the "
                "simulator plays only from recorded replies: set cars_file"
            )
        if self.cars_file is not None:
            try:
                load_cars(self.cars_file)
            except ValueError as exc:
                raise ValueError(f"cars_file: {exc}") from None
        return self

    @property
    def profile_model(self) -> Profile:
        assert self._profile is not None
        return self._profile
