import math

import pytest
from pydantic import ValidationError

from services.charge_controller.meter_input import (
    MeterConfig,
    MeterInput,
    MeterSource,
    extract_value,
    parse_number,
)


def single(path: str | None = None, **kw: object) -> MeterInput:
    return MeterInput(MeterConfig(sources=[MeterSource(topic="m", json_path=path, **kw)]))


@pytest.mark.parametrize(
    ("payload", "path", "expected"),
    [
        (b'{"Time":"x","SML":{"Total_in":1.5,"Power_curr":-123}}', "SML.Power_curr", -123.0),
        (b'{"Time":"x","SML":{"Power_curr":-123}}', "$.SML.Power_curr", -123.0),
        (b'{"StatusSNS":{"MT175":{"Power_curr":77}}}', "$..Power_curr", 77.0),
        (b'{"ENERGY":{"Power":123,"Total":4.2}}', "ENERGY.Power", 123.0),
        (b'{"id":0,"a_act_power":1.0,"total_act_power":-321.5}', "total_act_power", -321.5),
        (
            b'{"method":"NotifyStatus","params":{"em:0":{"total_act_power":42.5}}}',
            "params.em:0.total_act_power",
            42.5,
        ),
        (b'{"emeters":[{"power":10.5},{"power":20}]}', "emeters[1].power", 20.0),
        (b'{"emeters":[{"power":10.5},{"power":20}]}', "emeters/0/power", 10.5),
        (b'{"power":123,"linkquality":80}', "power", 123.0),
        (b"-123.4", None, -123.4),
        (b" 250 \n", None, 250.0),
        (b'"-12.5"', None, -12.5),
        (b'{"SML":{"Power_curr":"-99.5"}}', "SML.Power_curr", -99.5),
    ],
)
def test_formats(payload: bytes, path: str | None, expected: float) -> None:
    assert extract_value(payload, path) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (b"unavailable", None),
        (b"unknown", None),
        (b"", None),
        (b"null", None),
        (b"nan", None),
        (b'{"SML":{"Power_curr":null}}', "SML.Power_curr"),
        (b'{"SML":{"Power_curr":"unavailable"}}', "SML.Power_curr"),
        (b'{"SML":{"Power_curr":""}}', "SML.Power_curr"),
        (b'{"SML":{"Power_curr":true}}', "SML.Power_curr"),
        (b'{"SML":{}}', "SML.Power_curr"),
        (b"{not json", "SML.Power_curr"),
        (b"\xff\xfe", None),
    ],
)
def test_no_value_is_not_zero(payload: bytes, path: str | None) -> None:
    assert extract_value(payload, path) is None
    result = single(path).ingest("m", payload, 1.0)
    assert result.sample is None and "no value" in result.reason


def test_parse_number_rejects_infinite_and_text() -> None:
    assert parse_number("inf") is None and parse_number(math.nan) is None
    assert parse_number("12 W") is None and parse_number(7) == 7.0


def test_kw_scale_and_inversion() -> None:
    meter = single(None, scale=1000.0, invert=True)
    sample = meter.ingest("m", b"0.25", 1.0).sample
    assert sample is not None and sample.grid_w == pytest.approx(-250.0)


def test_phases_summed_only_when_all_have_new_values() -> None:
    config = MeterConfig(
        sources=[MeterSource(topic=f"shellies/em/emeter/{i}/power") for i in range(3)],
        max_age_s=10.0,
    )
    meter = MeterInput(config)
    assert meter.ingest("shellies/em/emeter/0/power", b"100", 1.0).sample is None
    waiting = meter.ingest("shellies/em/emeter/1/power", b"-50", 1.1)
    assert waiting.sample is None and "emeter/2" in waiting.reason
    sample = meter.ingest("shellies/em/emeter/2/power", b"20", 1.2).sample
    assert sample is not None and sample.grid_w == pytest.approx(70.0)
    assert sample.time == pytest.approx(1.0)  # oldest component
    # a single phase update does not produce a new (mixed) sample
    assert meter.ingest("shellies/em/emeter/0/power", b"500", 2.0).sample is None


def test_phase_without_value_blocks_the_sum() -> None:
    config = MeterConfig(sources=[MeterSource(topic="a"), MeterSource(topic="b")])
    meter = MeterInput(config)
    meter.ingest("a", b"100", 1.0)
    meter.ingest("b", b"unavailable", 1.1)
    assert meter.ingest("a", b"100", 2.0).sample is None


def test_stale_component_is_not_combined() -> None:
    config = MeterConfig(sources=[MeterSource(topic="a"), MeterSource(topic="b")], max_age_s=5.0)
    meter = MeterInput(config)
    meter.ingest("a", b"100", 0.0)
    result = meter.ingest("b", b"100", 10.0)
    assert result.sample is None and "older" in result.reason


def test_separate_import_export_topics_in_kw() -> None:
    config = MeterConfig(
        sources=[MeterSource(topic="p1/consumption", scale=1000.0)],
        export_sources=[MeterSource(topic="p1/returndelivery", scale=1000.0)],
    )
    meter = MeterInput(config)
    meter.ingest("p1/consumption", b"0.000", 1.0)
    sample = meter.ingest("p1/returndelivery", b"1.234", 1.0).sample
    assert sample is not None and sample.grid_w == pytest.approx(-1234.0)


def test_staleness_by_age_and_period_from_arrivals() -> None:
    meter = single("ENERGY.Power")
    assert meter.is_stale(0.0)
    for k in range(5):
        sample = meter.ingest("m", b'{"ENERGY":{"Power":5}}', 10.0 + 2.0 * k).sample
    assert sample is not None and sample.period_s == pytest.approx(2.0)
    assert not meter.is_stale(20.0)
    assert meter.is_stale(18.0 + 30.1)


def test_retained_and_foreign_topics_ignored() -> None:
    meter = single()
    assert "retained" in meter.ingest("m", b"100", 1.0, retained=True).reason
    assert meter.ingest("other", b"100", 1.0).sample is None
    assert meter.last_sample is None


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        MeterConfig(sources=[])
    with pytest.raises(ValidationError):
        MeterConfig(sources=[MeterSource(topic="a"), MeterSource(topic="a")])
    with pytest.raises(ValidationError):
        MeterSource(topic="a", unit="W")
