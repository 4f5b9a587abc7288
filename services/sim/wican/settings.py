"""Simulator settings (config section `sim-wican`, env `CANBRIDGE_<FIELD>`).

One car: the top-level car fields. Several cars: `cars`, a list of the same fields, each
with its own `device_id` (each car has its own adapter, its own MQTT connection and so
its own login: every car after the first names one, e.g. `wican-van`, made with
CANBRIDGE_EXTRA_LOGINS="wican-van=wican").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.sim.wican.catalogue import load_catalogue
from services.sim.wican.ecu import IsoTpTuning
from services.sim.wican.recorded import load_cars
from shared.settings import MqttSettings, ServiceSettings

DeviceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]


class IsoTpSettings(BaseModel):
    """The ECU's ISO-TP behaviour (see services/sim/wican/ecu.py)."""

    model_config = ConfigDict(extra="forbid")

    min_separation_s: float | None = Field(None, ge=0, le=1)
    block_size: int = Field(0, ge=0, le=255)
    st_min: int = Field(0, ge=0, le=255)
    wftmax: int = Field(4, ge=0, le=255)
    n_bs_ms: int = Field(1000, ge=1, le=60000)

    def tuning(self) -> IsoTpTuning:
        return IsoTpTuning(**self.model_dump())


class CarFields(BaseModel):
    """What one simulated car with its adapter is like."""

    device_id: DeviceId = "d0d0cafe0001"
    profile: str = "nissan-leaf-ze1"  # a car of services/sim/wican/catalogue.yaml
    #: publish the status on wican/<id>/can/status (firmware 2024+) instead of wican/<id>/status
    firmware_2024_status: bool = False
    soc: float = Field(55.0, ge=0, le=100)  # SoC at start
    soc_rate_per_h: float = Field(0.0, ge=-100, le=1000)  # e.g. 10 while charging
    awake: bool = True  # adapter online at start (false: the car is off and the adapter asleep)
    ignition: bool = True  # the car is switched on (its 12 V battery is kept up)
    charging: bool = False  # the car charges (keeps 12 V up too)
    sleep_after_s: float = Field(180.0, ge=0)  # adapter sleeps this long after both stop
    #: from falling asleep to `offline` (the broker's last will, ~1.5 x keep-alive on a real
    #: adapter); meanwhile the status still says online but nothing answers
    offline_delay_s: float = Field(0.0, ge=0, le=3600)
    silent: bool = False  # online but the car does not answer (tests the retries)
    corrupt_transfers: int = Field(0, ge=0)  # the next N replies get a wrong sequence number
    frames_per_message: int = Field(1, ge=1, le=16)  # reply frames batched in one rx message
    noise_frames: int = Field(0, ge=0, le=16)  # unrelated CAN frames added to each rx message
    reply_delay_s: float = Field(0.0, ge=0, le=10)  # the ECU's time to answer a request
    isotp: IsoTpSettings = IsoTpSettings()
    #: answer with recorded raw reply frames instead of the catalogue car (several ECUs),
    #: see services/sim/wican/recorded.py
    cars_file: Path | None = None
    #: > 0: behave like an adapter in "Automate"/AutoPID mode: publish the decoded values as
    #: JSON, retained, every this many seconds while awake (instead of answering requests)
    autopid_interval_s: float = Field(0.0, ge=0, le=3600)
    autopid_topic: str = ""  # default: the rx topic wican/<id>/can/rx, as the firmware does
    autopid_soc_name: str = "SOC"  # the parameter name the adapter's profile gives the SoC

    @model_validator(mode="after")
    def _known_car(self):
        if self.cars_file is not None:
            try:
                load_cars(self.cars_file)
            except ValueError as exc:
                raise ValueError(f"cars_file: {exc}") from None
        elif self.profile not in load_catalogue():
            known = ", ".join(sorted(load_catalogue()))
            raise ValueError(
                f"profile: the simulator has no car {self.profile!r} (it plays {known}); "
                "for another car record its replies and set cars_file"
            )
        return self


class SimCar(CarFields):
    model_config = ConfigDict(extra="forbid")

    #: MQTT login of this car's adapter (default: the simulator's own, first car only)
    login: str | None = None
    password_file: Path | None = None  # default: the file named like the login, beside ours
    password: str | None = Field(None, repr=False)


class SimWicanSettings(ServiceSettings, CarFields):
    section: ClassVar[str] = "sim-wican"

    #: several cars at once (each with its own device_id and login); empty: the one car
    #: described by the top-level fields
    cars: list[SimCar] = []

    @model_validator(mode="after")
    def _distinct_cars(self) -> SimWicanSettings:
        both = sorted(self.model_fields_set & set(CarFields.model_fields)) if self.cars else []
        if both:
            raise ValueError(
                f"cars: with a list of cars, set {', '.join(both)} per car (the top-level car "
                "fields describe the single car without a list)"
            )
        cars = self.car_list()
        for index, car in enumerate(cars[1:], 1):
            if car.login is None:
                raise ValueError(
                    f"cars[{index}] ({car.device_id}): needs its own MQTT login (a login holds "
                    "one connection), e.g. login: wican-van with "
                    'CANBRIDGE_EXTRA_LOGINS="wican-van=wican"'
                )
        unique: tuple[tuple[str, Sequence[str | None]], ...] = (  # login None: the default user
            ("device_id", [car.device_id for car in cars]),
            ("login", [self.mqtt_for(car, i).username for i, car in enumerate(cars)]),
        )
        for field, values in unique:
            repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
            if repeated:
                raise ValueError(f"cars: {field} {repeated[0]!r} is used by two cars")
        return self

    def car_list(self) -> list[SimCar]:
        """The cars to play, the first one logged in as the simulator itself."""
        if not self.cars:
            fields = {name: getattr(self, name) for name in CarFields.model_fields}
            return [SimCar(**fields)]
        return self.cars

    def mqtt_for(self, car: SimCar, index: int) -> MqttSettings:
        """The broker settings of one car's adapter."""
        if car.login is None and index == 0:
            return self.mqtt
        login = car.login or self.mqtt.username
        update: dict[str, object] = {"username": login}
        if car.password is not None:
            update.update(password=car.password, password_file=None)
        elif car.password_file is not None:
            update["password_file"] = car.password_file
        elif self.mqtt.password_file is not None and login:
            update["password_file"] = self.mqtt.password_file.with_name(login)
        return self.mqtt.model_copy(update=update)
