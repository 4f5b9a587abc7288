"""The strategies the benchmark runs, by result key, and ours run the way the service runs it.

Ours (``charge_controller``) is the service's pure ``Supervisor`` (meter watchdog, battery
protections fed with the gateway's voltage readings, profile limits, then the control law),
not the bare law, so a full or empty battery behaves as in the product. Key rules kept by
``bench.control``'s JSON: ours is ``charge_controller``; every PID baseline's key contains
``pid``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Protocol

from bench.baselines import (
    BatteryView,
    HamstieBic2mqtt,
    IncrementalPid,
    LastCommandStep,
    OpenDtuDpl,
)
from services.charge_controller.control_law import ControlParams
from services.charge_controller.controller_config import ControllerConfig
from services.charge_controller.gateway_link import GatewaySettings
from services.charge_controller.meter_input import GridSample
from services.charge_controller.schedules import ScheduleSettings
from services.charge_controller.supervisor import BatteryReading, Supervisor
from services.sim.bic_plant import BicPlantParams

MAX_CHARGE_W = 2200.0
MAX_DISCHARGE_W = 1690.0  # the plant's 1800 W DC discharge cap seen on the AC side
BIC_TEMPERATURE_C = 35.0  # what the gateway would report; inside the temperature window
PLANT = BicPlantParams()
CONTROL = ControlParams(max_charge_w=MAX_CHARGE_W, max_discharge_w=MAX_DISCHARGE_W)
OURS = "charge_controller"


class Strategy(Protocol):
    def observe_battery(self, time_s: float, battery: BatteryView) -> None: ...

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None: ...

    def tick(self, time_s: float, clock_s: float) -> float | None: ...


def clock_of(seconds: float) -> time:
    s = int(seconds) % 86400
    return time(s // 3600, s // 60 % 60, s % 60)


class Supervised:
    """Ours: the service's Supervisor with the bench's unit limits as its schedule, re-sending
    its setpoint every ``keepalive_s`` like the service (``GatewaySettings.keepalive_s``)."""

    keepalive_s = GatewaySettings.model_fields["keepalive_s"].default

    def __init__(self, params: ControlParams = CONTROL) -> None:
        config = ControllerConfig(
            control=params,
            schedule=ScheduleSettings(max_charge_w=MAX_CHARGE_W, max_discharge_w=MAX_DISCHARGE_W),
        )
        self.supervisor = Supervisor(config)
        self.supervisor.record_unit_online(True)  # the gateway's availability: the unit is up

    def observe_battery(self, time_s: float, battery: BatteryView) -> None:
        reading = BatteryReading(battery.ac_w, battery.voltage_v, BIC_TEMPERATURE_C)
        self.supervisor.record_battery(time_s, reading)

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        return self.supervisor.on_grid(time_s, sample, clock_of(clock_s)).setpoint_w

    def tick(self, time_s: float, clock_s: float) -> float | None:
        return self.supervisor.tick(time_s, clock_of(clock_s)).setpoint_w


def factories(params: ControlParams = CONTROL) -> dict[str, Callable[[], Strategy]]:
    """Result key -> a fresh strategy (``no_battery`` is not simulated: it is the house)."""
    limits = (MAX_CHARGE_W, MAX_DISCHARGE_W)
    return {
        "pid_last_command": lambda: IncrementalPid(*limits),
        "hamstie_bic2mqtt_pid": lambda: HamstieBic2mqtt(*limits, plant=PLANT),
        "opendtu_dpl": lambda: OpenDtuDpl(*limits),
        "last_command_step": lambda: LastCommandStep(*limits),
        OURS: lambda: Supervised(params),
    }


STRATEGY_NAMES = ("no_battery", *factories())
