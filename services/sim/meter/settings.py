"""Settings of the meter simulator (config-file section ``sim-meter``, MQTT user ``sim``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from services.sim.meter.household import Source
from services.sim.meter.payloads import Format
from services.sim.traces import DEFAULT_TRACE_DIR
from shared.settings import ServiceSettings


class MeterSimSettings(ServiceSettings):
    section: ClassVar[str] = "sim-meter"

    topic: str = Field("sim/meter/SENSOR", description="where grid power is published")
    format: Format = "tasmota"
    period_s: float = Field(1.0, ge=0.05, le=300, description="meter update period (wall s)")
    latency_s: float = Field(0.3, ge=0, le=30, description="delay from sample to publish")
    time_scale: float = Field(1.0, ge=0.1, le=1000, description="simulated s per wall s")
    source: Source = "trace"
    trace_dir: Path = DEFAULT_TRACE_DIR
    start_s: float = Field(0.0, ge=0, description="where in the trace to start")
    load_scale: float = Field(1.0, ge=0, le=100)
    pv_scale: float = Field(0.4, ge=0, le=100)
    base_w: float = Field(300.0, ge=-50000, le=50000, description="constant/step source")
    step_w: float = Field(1000.0, ge=-50000, le=50000, description="step source height")
    step_period_s: float = Field(60.0, gt=0, le=86400, description="step source half period")
    #: the BIC simulator's AC power (+ charging, plain W), added to the house power;
    #: ``{base}`` is the base topic; None = no battery in the loop
    bic_topic: str | None = "{base}/sim/bic/0/ac_power"
    bic_json_path: str | None = None
    bic_max_age_s: float = Field(10.0, gt=0, le=3600, description="older = battery at 0 W")

    def resolved_bic_topic(self) -> str | None:
        return None if not self.bic_topic else self.bic_topic.replace("{base}", self.base_topic)
