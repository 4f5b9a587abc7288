"""History: downsampling tiers, the SQLite store (batches, merges, retention, size cap)."""

from __future__ import annotations

import math
import sqlite3

import pytest

from services.api.history import DEFAULT_TIERS, Downsampler, Row, Tier, choose_step, regroup
from services.api.history_recorder import HistoryRecorder, HistorySettings, series_values
from services.api.history_store import HistoryStore

T0 = 1_800_000_000  # a multiple of 900: bucket starts are easy to read


def rows_of(sampler: Downsampler, step: int) -> list[Row]:
    return [r for r in sampler.take_pending() if r.step_s == step]


def test_a_bucket_keeps_average_min_max_and_count_and_closes_on_the_next_bucket():
    s = Downsampler()
    for t, v in [(T0, 10), (T0 + 0.5, 30), (T0 + 1.2, 7)]:
        assert s.add("grid_w", t, v)
    ones = rows_of(s, 1)
    assert ones == [Row("grid_w", 1, T0, 20.0, 10.0, 30.0, 2)]
    assert s.take_pending() == []  # the minute and quarter buckets are still open


def test_close_due_closes_quiet_buckets_and_close_all_everything():
    s = Downsampler()
    s.add("grid_w", T0, 5)
    s.close_due(T0 + 0.9)
    assert s.pending == []
    s.close_due(T0 + 61)
    assert {r.step_s for r in s.take_pending()} == {1, 60}
    s.close_all()
    assert [r.step_s for r in s.take_pending()] == [900]


def test_coarser_tiers_hold_the_average_of_all_samples():
    s = Downsampler()
    for i in range(120):
        s.add("battery_w", T0 + i, float(i))
    s.close_all()
    minutes = sorted((r for r in s.take_pending() if r.step_s == 60), key=lambda r: r.t)
    assert [(r.t, r.avg, r.min, r.max, r.n) for r in minutes] == [
        (T0, 29.5, 0, 59, 60),
        (T0 + 60, 89.5, 60, 119, 60),
    ]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "12"])
def test_non_numbers_are_refused_and_counted(bad):
    s = Downsampler()
    assert not s.add("grid_w", T0, bad)
    assert s.refused == 1 and s.series == set()


def test_new_series_beyond_the_cap_are_refused_but_known_ones_go_on():
    s = Downsampler(max_series=2)
    s.seed(["vehicle.a.soc"])
    assert s.add("grid_w", T0, 1)
    assert not s.add("vehicle.b.soc", T0, 1)
    assert s.add("grid_w", T0 + 1, 2) and s.add("vehicle.a.soc", T0, 50)
    assert s.refused == 1


def test_a_late_sample_never_rewrites_a_closed_bucket():
    s = Downsampler()
    s.add("grid_w", T0 + 5, 1)
    s.add("grid_w", T0 + 3, 100)  # arrived late (clock step back): dropped for the 1 s tier
    s.close_all()
    one = [r for r in s.take_pending() if r.step_s == 1]
    assert one == [Row("grid_w", 1, T0 + 5, 1.0, 1.0, 1.0, 1)]


def test_tiers_must_nest():
    with pytest.raises(ValueError, match="multiple"):
        Downsampler((Tier(60, 10), Tier(90, 20)))


@pytest.mark.parametrize(
    ("span", "age", "max_points", "expected"),
    [
        (3600, 0, 4000, (1, 1)),  # the last hour at 1 s
        (3600, 0, 2000, (60, 60)),  # too many points at 1 s
        (86_400, 0, 2000, (60, 60)),  # a day at 1 min
        (7 * 86_400, 0, 2000, (900, 900)),  # a week at 15 min
        (3600, 2 * 86_400, 4000, (60, 60)),  # an hour two days ago: 1 s is gone
        (365 * 86_400, 0, 2000, (900, 16_200)),  # a year: 15 min rows merged 18 to 1
    ],
)
def test_choose_step(span, age, max_points, expected):
    now = T0 + 400 * 86_400
    tier, step = choose_step(DEFAULT_TIERS, now - age - span, now - age, now, max_points)
    assert (tier.step_s, step) == expected


def test_regroup_merges_rows_weighted_by_count():
    rows = [
        Row("x", 60, T0, 10.0, 5.0, 20.0, 1),
        Row("x", 60, T0 + 60, 40.0, 30.0, 50.0, 3),
        Row("x", 60, T0 + 900, 1.0, 1.0, 1.0, 1),
    ]
    assert regroup(rows, 900) == [
        Row("x", 900, T0, 32.5, 5.0, 50.0, 4),
        Row("x", 900, T0 + 900, 1.0, 1.0, 1.0, 1),
    ]


def test_store_merges_a_bucket_written_twice_and_survives_reopening(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path, 10 << 20)
    assert store.write([Row("grid_w", 1, T0, 10.0, 10.0, 10.0, 1)]) == 1
    store.write([Row("grid_w", 1, T0, 20.0, 15.0, 30.0, 3)])  # e.g. after a restart
    store.close()
    again = HistoryStore(path, 10 << 20)
    assert again.series == ["grid_w"]
    assert again.read(["grid_w", "unknown"], 1, T0, T0 + 10) == [
        Row("grid_w", 1, T0, 17.5, 10.0, 30.0, 4)
    ]
    again.close()


def test_store_prunes_by_retention_per_tier(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite", 10 << 20)
    now = T0 + 10 * 86_400
    store.write(
        [
            Row("grid_w", 1, T0, 1, 1, 1, 1),  # 10 days old: past 1 s retention
            Row("grid_w", 1, now - 10, 2, 2, 2, 1),
            Row("grid_w", 60, T0, 3, 3, 3, 1),  # within 30 days
        ]
    )
    assert store.prune(DEFAULT_TIERS, now) == 1
    assert [r.t for r in store.read(["grid_w"], 1, 0, now)] == [now - 10]
    assert [r.t for r in store.read(["grid_w"], 60, 0, now)] == [T0]


def test_store_stays_under_its_size_cap_dropping_the_oldest_fine_rows(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite", 400 * 1024)
    for batch in range(20):
        base = T0 + batch * 1000
        store.write([Row("grid_w", 1, base + i, i, i, i, 1) for i in range(1000)])
    store.write([Row("grid_w", 900, T0, 1, 1, 1, 1)])
    assert store.used_bytes() > 400 * 1024
    store.prune(DEFAULT_TIERS, T0 + 20_000)
    assert store.used_bytes() <= 400 * 1024
    kept = store.read(["grid_w"], 1, 0, T0 + 20_000)
    assert kept and kept[-1].t == T0 + 19_999  # the newest survive
    assert kept[0].t > T0  # the oldest went first
    assert store.read(["grid_w"], 900, 0, T0 + 20_000)  # the long view survives
    store.close()


def test_writes_come_in_batches_one_transaction_per_flush(tmp_path):
    clock = [float(T0)]
    settings = HistorySettings(file=tmp_path / "h.sqlite", flush_interval_s=60)
    recorder = HistoryRecorder.open(settings)
    recorder.wall = lambda: clock[0]
    commits = []
    recorder.store._db.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
    )
    for i in range(300):
        clock[0] = T0 + i
        recorder.observe("controller", "charge-controller", {"grid_w": i, "setpoint_w": -i})
    assert commits == []  # nothing written while samples arrive
    assert recorder.flush() > 500  # 299 closed 1 s buckets per series, plus minutes
    assert len(commits) == 1
    recorder.stop()


def test_a_failed_write_keeps_the_rows_for_the_next_flush(tmp_path):
    clock = [float(T0)]
    recorder = HistoryRecorder.open(HistorySettings(file=tmp_path / "h.sqlite"))
    recorder.wall = lambda: clock[0]
    for i in range(5):
        clock[0] = T0 + i
        recorder.observe("controller", "charge-controller", {"grid_w": i})
    real_write = recorder.store.write

    def broken(rows):
        raise sqlite3.OperationalError("disk I/O error")

    recorder.store.write = broken
    assert recorder.flush() == 0
    assert recorder.failures == 1
    recorder.store.write = real_write
    assert recorder.flush() >= 4
    step, rows = recorder.query(["grid_w"], T0, T0 + 10, 4000)
    assert step == 1 and [r.avg for r in rows["grid_w"]] == [0, 1, 2, 3, 4]
    recorder.stop()


def test_queries_include_what_is_not_written_yet(tmp_path):
    clock = [float(T0)]
    recorder = HistoryRecorder.open(HistorySettings(file=tmp_path / "h.sqlite"))
    recorder.wall = lambda: clock[0]
    recorder.observe("controller", "charge-controller", {"grid_w": 5})
    clock[0] += 0.5
    _step, rows = recorder.query(["grid_w"], T0 - 10, T0 + 1, 4000)
    assert [(r.t, r.avg) for r in rows["grid_w"]] == [(T0, 5.0)]  # the open bucket
    recorder.stop()


def test_history_off_or_unopenable_means_no_recorder(tmp_path):
    assert HistoryRecorder.open(HistorySettings(file=None)) is None
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert HistoryRecorder.open(HistorySettings(file=blocker / "h.sqlite")) is None


@pytest.mark.parametrize(
    ("kind", "key", "data", "expected"),
    [
        (
            "controller",
            "charge-controller",
            {"grid_w": 12, "battery_w": -480.5, "setpoint_w": None, "soc": {"pct": 55.5}},
            {"grid_w": 12.0, "battery_w": -480.5, "battery_soc": 55.5},
        ),
        (
            "bic",
            "0",
            {"ac_power": -480.0, "voltage": 52.3, "current": -9.2, "temperature": 31},
            {
                "bic.0.power_w": -480.0,
                "bic.0.voltage": 52.3,
                "bic.0.current": -9.2,
                "bic.0.temperature": 31.0,
            },
        ),
        (
            "vehicles",
            "leaf",
            {"soc": 82.1, "soh": 91, "time": "x"},
            {
                "vehicle.leaf.soc": 82.1,
                "vehicle.leaf.soh": 91.0,
            },
        ),
        ("energy_charged", "1", "1.2345", {"bic.1.energy_charged_kwh": 1.2345}),
        ("energy_discharged", "1", "nan", {}),
        ("controller", "charge-controller", [1, 2], {}),
        ("controller", "charge-controller", {"grid_w": True}, {}),
    ],
)
def test_series_values(kind, key, data, expected):
    assert series_values(kind, key, data) == expected
