"""Device readings outside their plausible range are "no value", at every controller input."""

from __future__ import annotations

import math

import pytest

from services.charge_controller.ev_guard import EvGuard, EvSettings
from services.charge_controller.gateway_link import parse_state
from services.charge_controller.meter_input import MeterConfig, MeterInput, MeterSource
from services.charge_controller.plausible import GRID_W, SOC_PCT, within


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 0.0), (100.0, 100.0), (-0.1, None), (100.1, None), (None, None), (math.nan, None)],
)
def test_within_keeps_the_bounds_and_refuses_the_rest(value, expected):
    assert within(value, SOC_PCT) == expected


def test_an_implausible_meter_value_is_no_sample_and_not_kept():
    meter = MeterInput(MeterConfig(sources=[MeterSource(topic="m")]))
    assert meter.ingest("m", b"250", 1.0).sample.grid_w == 250.0
    result = meter.ingest("m", b"1e30", 2.0)
    assert result.sample is None and "implausible" in result.reason
    assert meter.ingest("m", str(GRID_W[1]).encode(), 3.0).sample.grid_w == GRID_W[1]


def test_a_kw_meter_is_judged_after_its_scale():
    meter = MeterInput(MeterConfig(sources=[MeterSource(topic="m", scale=1000)]))
    assert meter.ingest("m", b"999", 1.0).sample.grid_w == 999_000.0
    assert meter.ingest("m", b"1001", 2.0).sample is None


def test_an_implausible_wallbox_power_is_no_reading():
    settings = EvSettings(wallbox_topic="w")
    guard = EvGuard()
    assert guard.ingest(settings, 0.0, b"7200") is None
    assert guard.ingest(settings, 1.0, b"1e12") is not None
    assert guard.charging(settings, 1.0)[0] is False


def test_gateway_state_fields_outside_their_range_are_unknown():
    reading = parse_state(b'{"ac_power": 1e9, "voltage": 52.1, "temperature": 900}')
    assert reading is not None
    assert (reading.ac_w, reading.voltage_v, reading.temperature_c) == (None, 52.1, None)
