"""Make the whole-day benchmark traces in ``bench/data/days/`` (run once; the output is committed).

Every file is one local calendar day at 1 s: ``t_s,net_w`` (integer W; ``net_w`` = load - PV,
+ import, without the battery), gzip-compressed, with ``#`` header lines saying where the load
and the PV come from (credit lines), how the day was made and its load and PV energy.

Sources (independent load sources: 1-3 measured/modelled separately, 4 only for its midday):

1. **CREST/Richardson** stochastic occupancy + appliance model (``richardsonpy`` 0.2.3,
   GPL-3.0; Richardson, Thomson, Infield, Clifford (2010), Domestic electricity use: a
   high-resolution energy demand model, Energy and Buildings 42(10)), 1 min, held per second.
2. **BDEW H25** standard load profile (``demandlib`` 0.2.2, MIT; BDEW 2025 household SLP),
   15 min, held per second, plus seeded 1 s appliance events made here (kettle, oven with
   thermostat cycling, microwave, washing machine heater and drum, an 11 kW EV session).
3. **RAE** 1 Hz measured household mains (``bench/data/rae_household.csv``, CC BY 4.0,
   Makonin 2018, doi:10.7910/DVN/ZJW4LC): its 6 h window played four times per day, each copy
   circularly shifted by a seeded offset.
4. **Cyprus prosumer** 30 s measured load and PV (``bench/data/cyprus_netload.csv``, CC BY 4.0,
   doi:10.5281/zenodo.8348862) for 09:00-16:00, interpolated to 1 s; outside that window the
   load follows H25 scaled to the measured level and the PV the clear-sky shape.

PV (all days but the Cyprus window): ``pvlib`` 0.16.1 (BSD-3) Ineichen clear sky for Essen
(51.45 N, 7.01 E, the DWD TRY 2010 region 5 station), 5 kWp facing south, 30 deg tilt,
system derate 0.85, times an hourly clear-sky index from the DWD test reference year TRY 2010
region 5 (shipped with richardsonpy; hourly global = direct + diffuse horizontal) divided by
the hourly clear-sky global irradiance, made second-resolved here by a two-state (sun/cloud)
Markov process whose sunny fraction reproduces each hour's index and whose edges ramp over
3-20 s (fast cloud edges).

Not project dependencies. To regenerate (deterministic, fixed seeds)::

    python3 -m venv /tmp/benchgen
    /tmp/benchgen/bin/pip install numpy pandas pvlib==0.16.1 richardsonpy==0.2.3 demandlib==0.2.2
    /tmp/benchgen/bin/python bench/days/make_days.py

The day table (which days, which load, which seed) is ``DAYS`` below; which day is tuning and
which is test is declared in ``bench/dayset.py``.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import pandas as pd
except ModuleNotFoundError:  # a generator dependency, not the project's (see above)
    pd = None

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data"
OUT = DATA / "days"
SECONDS = 86400
LAT, LON, ALT, TZ = 51.45, 7.01, 100.0, "Etc/GMT-1"  # local standard time (no DST jumps)
PEAK_W = 5000.0
DERATE = 0.85
YEAR = 2023  # calendar for weekdays/holidays; the TRY is a typical year

CREDIT = {
    "crest": "load: CREST/Richardson occupancy+appliance model via richardsonpy 0.2.3 (GPL-3.0); "
    "Richardson et al. (2010) Energy and Buildings 42(10):1878-1887",
    "h25": "load: BDEW H25 household standard load profile via demandlib 0.2.2 (MIT), "
    "plus seeded 1 s appliance events made by bench/days/make_days.py",
    "rae": "load: RAE 1 Hz household mains, Makonin (2018) Harvard Dataverse "
    "doi:10.7910/DVN/ZJW4LC, CC BY 4.0 (6 h excerpt played 4x with seeded circular shifts)",
    "cyprus": "load+PV 09:00-16:00: Cyprus prosumer 30 s data, Hadjidemetriou, Asprou, Nikolaou "
    "(2023) Zenodo doi:10.5281/zenodo.8348862, CC BY 4.0; other hours H25 (demandlib, MIT) "
    "and clear-sky PV",
    "pv": "pv: pvlib 0.16.1 (BSD-3) Ineichen clear sky, Essen, 5 kWp S 30 deg, derate 0.85, "
    "x hourly clear-sky index of DWD TRY 2010 region 5 (via richardsonpy), second-level "
    "sun/cloud Markov edges",
}


@dataclass(frozen=True)
class Day:
    name: str
    date: str  # YYYY-MM-DD (day of year picks the TRY weather)
    load: str  # crest | crest1 | h25 | rae | cyprus
    seed: int
    note: str
    events: tuple[str, ...] = ()  # extra 1 s events on top of the load
    pv_scale: float = 1.0


DAYS = (
    Day("winter_jan16", "2023-01-16", "crest", 11, "winter weekday, little PV"),
    Day("winter_jan17", "2023-01-17", "crest", 12, "winter weekday, little PV (follows jan16)"),
    Day(
        "spring_apr12",
        "2023-04-12",
        "h25",
        21,
        "spring, cloudy, kettle/oven/washer steps",
        ("kettle", "oven", "washer", "microwave"),
    ),
    Day(
        "spring_apr13",
        "2023-04-13",
        "h25",
        22,
        "spring, broken clouds (follows apr12)",
        ("kettle", "oven", "microwave"),
    ),
    Day("summer_jun20", "2023-06-20", "crest", 31, "summer, battery full by noon"),
    Day("summer_jun21", "2023-06-21", "crest", 32, "summer surplus (follows jun20)"),
    Day(
        "summer_jun22",
        "2023-06-22",
        "crest",
        33,
        "summer, 11 kW EV session 17:30-19:30 (follows jun21)",
        ("ev",),
    ),
    Day(
        "summer_jun11",
        "2023-06-11",
        "h25",
        41,
        "summer Sunday, fast cloud edges, kettle/oven",
        ("kettle", "oven", "microwave"),
    ),
    Day("autumn_oct03", "2023-10-03", "rae", 51, "autumn, measured 1 Hz load (RAE)"),
    Day("autumn_oct04", "2023-10-04", "rae", 52, "autumn, measured 1 Hz load (follows oct03)"),
    Day("sept_cyprus", "2023-09-01", "cyprus", 61, "measured prosumer midday (Cyprus)"),
    Day(
        "nov_standby",
        "2023-11-20",
        "crest1",
        71,
        "late autumn, one occupant, standby nights, battery empties overnight",
    ),
    Day(
        "nov_standby2",
        "2023-11-21",
        "crest1",
        72,
        "one occupant (follows nov20), EV session at night",
        ("ev_night",),
    ),
    Day(
        "mar_evening",
        "2023-03-15",
        "h25",
        81,
        "early spring, heavy evening use, washer",
        ("kettle", "oven", "washer"),
    ),
    # hold-out days, made on 2 December 2026 after control law v0.4 was fixed: never looked at
    # before its rules and parameters were chosen (bench/dayset.py, split "holdout")
    Day("fresh_feb08", "2023-02-08", "crest", 81, "hold-out: winter weekday, little PV"),
    Day(
        "fresh_may19",
        "2023-05-19",
        "h25",
        82,
        "hold-out: spring, kettle/oven/washer steps",
        ("kettle", "oven", "washer", "microwave"),
    ),
    Day("fresh_jul27", "2023-07-27", "crest", 83, "hold-out: summer, 11 kW EV session", ("ev",)),
    Day(
        "fresh_aug15",
        "2023-08-15",
        "h25",
        84,
        "hold-out: late summer, clouds, kettle/oven",
        ("kettle", "oven", "microwave"),
    ),
    Day(
        "fresh_dec04",
        "2023-12-04",
        "crest1",
        85,
        "hold-out: winter, one occupant, EV at night",
        ("ev_night",),
    ),
)


# --- PV -----------------------------------------------------------------------------------


def try_global_hourly() -> np.ndarray:
    """8760 hourly global horizontal irradiance (W/m2) of the DWD TRY 2010 region 5."""
    import richardsonpy.functions.load_radiation as loadrad

    direct, diffuse = loadrad.get_rad_from_try_path()
    return np.asarray(direct, dtype=float) + np.asarray(diffuse, dtype=float)


def clear_sky(date: str) -> tuple[np.ndarray, np.ndarray]:
    """(PV W at 1 s for clear sky, clear-sky GHI hourly means) of one local day."""
    import pvlib

    times = pd.date_range(date, periods=SECONDS // 10, freq="10s", tz=TZ)
    site = pvlib.location.Location(LAT, LON, tz=TZ, altitude=ALT)
    sky = site.get_clearsky(times, model="ineichen")
    sun = site.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        30, 180, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
    )["poa_global"].fillna(0.0)
    pv10 = np.clip(poa.to_numpy() / 1000.0 * PEAK_W * DERATE, 0, PEAK_W * 0.95)
    pv = np.interp(np.arange(SECONDS), np.arange(0, SECONDS, 10), pv10)
    ghi_hourly = sky["ghi"].to_numpy().reshape(24, -1).mean(axis=1)
    return pv, ghi_hourly


def cloud_index(date: str, ghi_cs_hourly: np.ndarray) -> np.ndarray:
    """Hourly clear-sky index of the TRY for this day (1 where the sun is too low to tell)."""
    doy = pd.Timestamp(date).day_of_year
    ghi = try_global_hourly()[(doy - 1) * 24 : doy * 24]
    k = np.ones(24)
    lit = ghi_cs_hourly > 30
    k[lit] = np.clip(ghi[lit] / ghi_cs_hourly[lit], 0.05, 1.05)
    return k


def second_clouds(k_hourly: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Second-level clear-sky index: sun (1.0) / cloud (0.15-0.35) dwell periods with ramps."""
    out = np.empty(SECONDS)
    state_sun = rng.random() < k_hourly[0]
    t = 0
    while t < SECONDS:
        k = k_hourly[min(23, t // 3600)]
        cloud = rng.uniform(0.15, 0.35)
        if k >= 0.97:
            sun_frac = 1.0
        elif k <= cloud + 0.02:
            sun_frac = 0.0
        else:
            sun_frac = (k - cloud) / (1.0 - cloud)
        cycle = rng.uniform(120, 900)
        if sun_frac in (0.0, 1.0):
            dwell = 600
            value = 1.0 if sun_frac == 1.0 else min(k, 1.0) * rng.uniform(0.9, 1.1)
        else:
            state_sun = not state_sun
            mean = cycle * (sun_frac if state_sun else 1 - sun_frac)
            dwell = max(5, int(rng.exponential(mean)))
            value = 1.0 if state_sun else cloud
        end = min(SECONDS, t + dwell)
        out[t:end] = value
        t = end
    # cloud edges: ramps of 3-20 s (a moving average of a random width per edge region)
    smoothed = np.copy(out)
    edges = np.flatnonzero(np.diff(out) != 0)
    for e in edges:
        width = int(rng.uniform(3, 20))
        lo, hi = max(0, e - width), min(SECONDS, e + width + 1)
        smoothed[lo:hi] = np.linspace(out[lo], out[hi - 1], hi - lo)
    return smoothed


def pv_day(day: Day, rng: np.random.Generator) -> np.ndarray:
    pv_cs, ghi_cs = clear_sky(day.date)
    k = cloud_index(day.date, ghi_cs)
    return pv_cs * second_clouds(k, rng) * day.pv_scale


# --- loads --------------------------------------------------------------------------------


_CREST_CACHE: dict[tuple[int, int], np.ndarray] = {}


def crest_year(occupants: int, seed: int) -> np.ndarray:
    """One year of CREST household load at 60 s (W), seeded."""
    key = (occupants, seed)
    if key not in _CREST_CACHE:
        import richardsonpy.classes.electric_load as eload
        import richardsonpy.classes.occupancy as occ
        import richardsonpy.functions.change_resolution as cr
        import richardsonpy.functions.load_radiation as loadrad

        random.seed(seed)
        np.random.seed(seed)
        start_weekday = pd.Timestamp(f"{YEAR}-01-01").day_of_week + 1
        occupancy = occ.Occupancy(number_occupants=occupants, initial_day=start_weekday)
        direct, diffuse = loadrad.get_rad_from_try_path()
        direct = cr.change_resolution(direct, old_res=3600, new_res=60)
        diffuse = cr.change_resolution(diffuse, old_res=3600, new_res=60)
        load = eload.ElectricLoad(
            occ_profile=copy.copy(occupancy.occupancy),
            total_nb_occ=occupants,
            q_direct=direct,
            q_diffuse=diffuse,
            timestep=60,
            initial_day=start_weekday,
            prev_heat_dev=True,  # no electric space or water heating
        )
        _CREST_CACHE[key] = np.asarray(load.loadcurve, dtype=float)
    return _CREST_CACHE[key]


def crest_day(day: Day, occupants: int) -> np.ndarray:
    year = crest_year(occupants, 1000 + occupants)
    doy = pd.Timestamp(day.date).day_of_year
    minutes = year[(doy - 1) * 1440 : doy * 1440]
    return np.repeat(minutes, 60)


def h25_day(date: str, mean_w: float) -> np.ndarray:
    from demandlib.bdew import H25

    idx = pd.date_range(f"{YEAR}-01-01", periods=35040, freq="15min")
    profile = pd.Series(np.asarray(H25(idx), dtype=float), index=idx)
    profile = profile / profile.mean() * mean_w
    quarter = profile[date].to_numpy()
    return np.repeat(quarter, 900)


def read_trace(name: str) -> np.ndarray:
    rows = []
    for line in (DATA / name).read_text().splitlines():
        if line.startswith("#") or not line.strip() or line[0].isalpha():
            continue
        rows.append([float(v) for v in line.split(",")])
    return np.array(rows)


def rae_day(rng: np.random.Generator) -> np.ndarray:
    rae = read_trace("rae_household.csv")[:, 1]
    parts = [np.roll(rae, int(rng.integers(0, len(rae)))) for _ in range(4)]
    return np.concatenate(parts)[:SECONDS]


def cyprus_day(day: Day, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cy = read_trace("cyprus_netload.csv")
    start = 9 * 3600
    window = np.arange(start, start + int(cy[-1, 0]) + 1)
    load_w = np.interp(window - start, cy[:, 0], cy[:, 1])
    pv_w = np.interp(window - start, cy[:, 0], cy[:, 2])
    base = h25_day(day.date, 1.0)
    level = load_w.mean() / base[window].mean()
    load = base * level
    load[window] = load_w
    pv_cs, _ = clear_sky(day.date)
    pv = pv_cs * (pv_w[:1800].mean() / max(1.0, pv_cs[start : start + 1800].mean()))
    pv[window] = pv_w
    return load, pv


# --- 1 s appliance events ----------------------------------------------------------------


def add_block(load: np.ndarray, start: int, seconds: int, watts: float, ramp: int = 1) -> None:
    end = min(SECONDS, start + seconds)
    shape = np.full(end - start, watts)
    if ramp > 1:
        r = min(ramp, len(shape))
        shape[:r] = np.linspace(0, watts, r)
    load[start:end] += shape


def events(load: np.ndarray, names: tuple[str, ...], rng: np.random.Generator) -> None:
    hour = 3600
    if "kettle" in names:  # 3-6 boils a day, 2 kW for 2.5-4 min
        for _ in range(int(rng.integers(3, 7))):
            start = int(rng.uniform(6.5 * hour, 22 * hour))
            add_block(load, start, int(rng.uniform(150, 240)), rng.uniform(1800, 2200))
    if "microwave" in names:
        for _ in range(int(rng.integers(1, 4))):
            start = int(rng.uniform(7 * hour, 21 * hour))
            add_block(load, start, int(rng.uniform(60, 300)), rng.uniform(1000, 1300))
    if "oven" in names:  # preheat 10 min, then thermostat cycling for 40-70 min
        start = int(rng.uniform(11.5 * hour, 18.5 * hour))
        watts = rng.uniform(1800, 2400)
        add_block(load, start, 600, watts)
        t, end = start + 600, start + 600 + int(rng.uniform(2400, 4200))
        while t < end:
            off, on = int(rng.uniform(30, 90)), int(rng.uniform(30, 70))
            t += off
            add_block(load, t, on, watts)
            t += on
    if "washer" in names:  # heater 2 kW for 15 min, then the drum toggling ~16 s for an hour
        start = int(rng.uniform(8 * hour, 16 * hour))
        add_block(load, start, 900, 2000.0)
        t = start + 900
        while t < start + 900 + 3600:
            on = int(rng.uniform(8, 12))
            add_block(load, t, on, rng.uniform(120, 300))
            t += on + int(rng.uniform(4, 8))
    if "ev" in names:  # 11 kW three-phase session, 2 h, starting 17:30
        add_block(load, int(17.5 * hour), 2 * hour, 11000.0, ramp=5)
    if "ev_night" in names:  # 11 kW from 22:00 for 1.5 h
        add_block(load, 22 * hour, int(1.5 * hour), 11000.0, ramp=5)


def noise(rng: np.random.Generator) -> np.ndarray:
    """Second-to-second jitter that held 1 min / 15 min values lack (a few W, some drift)."""
    white = rng.normal(0, 4, SECONDS)
    drift = np.cumsum(rng.normal(0, 0.3, SECONDS))
    drift -= np.convolve(drift, np.ones(601) / 601, mode="same")
    return white + drift


# --- writing -------------------------------------------------------------------------------


def make(day: Day) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(day.seed)
    if day.load == "cyprus":
        load, pv = cyprus_day(day, rng)
        credit = [CREDIT["cyprus"], CREDIT["pv"]]
    else:
        if day.load == "crest":
            load = crest_day(day, 3)
        elif day.load == "crest1":
            load = crest_day(day, 1)
        elif day.load == "h25":
            load = h25_day(day.date, 330.0)
        elif day.load == "rae":
            load = rae_day(rng)
        else:
            raise ValueError(day.load)
        if day.load != "rae":
            load = load + noise(rng)
        credit = [CREDIT["crest" if day.load.startswith("crest") else day.load], CREDIT["pv"]]
        pv = pv_day(day, rng)
    events(load, day.events, rng)
    if day.events:
        credit.append(f"events (1 s, made here): {', '.join(day.events)}")
    return np.clip(load, 0, None), np.clip(pv, 0, None), "\n".join(f"# {c}" for c in credit)


def write(day: Day, load: np.ndarray, pv: np.ndarray, credit: str) -> Path:
    load_i, pv_i = np.rint(load).astype(int), np.rint(pv).astype(int)
    net = load_i - pv_i
    header = (
        f"# {day.name} ({day.date}): {day.note}\n{credit}\n"
        f"# made by bench/days/make_days.py (seed {day.seed}); 1 s, integer W; "
        "net_w = load_w - pv_w, + import, without the battery\n"
        f"# day totals: load {load_i.sum() / 3.6e6:.2f} kWh, pv {pv_i.sum() / 3.6e6:.2f} kWh\n"
        "t_s,net_w\n"
    )
    body = "\n".join(f"{t},{n}" for t, n in zip(range(SECONDS), net.tolist(), strict=True))
    path = OUT / f"{day.name}.csv.gz"
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as fh:
        fh.write((header + body + "\n").encode())
    return path


def main(names: list[str]) -> int:
    if pd is None:
        print("make_days needs pandas, pvlib, richardsonpy and demandlib: see its docstring")
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for day in DAYS:
        if names and day.name not in names:
            continue
        load, pv, credit = make(day)
        path = write(day, load, pv, credit)
        print(
            f"{path.name}: load {load.sum() / 3.6e6:.1f} kWh, pv {pv.sum() / 3.6e6:.1f} kWh, "
            f"{path.stat().st_size // 1024} KiB"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python bench/days/make_days.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", help="days to make (default: every day in DAYS)")
    sys.exit(main(parser.parse_args().names))
