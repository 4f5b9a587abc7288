"""The units the simulator can play, with the manual's setpoint ranges (own table, written from
the BIC-2200 manual, docs/protocol-bic2200.md#setpoint-ranges, and the NPB ranges in
docs/simulators.md; not the gateway's).

BIC-2200: battery mode limits IOUT_SET to the rated current; auto-detect mode allows 110 %.
NPB: charge only; its current range starts at about 20 % of the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    minimum: float
    maximum: float
    default: float

    def contains(self, value: float) -> bool:
        return self.minimum - 1e-9 <= value <= self.maximum + 1e-9


@dataclass(frozen=True)
class SimModel:
    name: str  # MFR_MODEL, e.g. "BIC-2200-48"
    family: str  # "BIC" or "NPB"
    nominal_v: float
    rated_a: float  # AC->DC rated current (the trickle is 5 % of it)
    #: register -> range in battery mode (BIC) or always (NPB)
    spans: dict[str, Span]
    #: BIC auto-detect mode: IOUT_SET up to 110 % of rated, other defaults
    #: (docs/protocol-bic2200.md#setpoint-ranges)
    auto_detect: dict[str, Span]
    has_vin: bool = True

    @property
    def charge_only(self) -> bool:
        return self.family == "NPB"

    @property
    def trickle_a(self) -> float:
        return round(self.rated_a * 0.05, 3)

    def span(self, register: str, battery_mode: bool) -> Span | None:
        if not battery_mode and register in self.auto_detect:
            return self.auto_detect[register]
        return self.spans.get(register)


def _bic(nominal: int, v: tuple[float, float, float], i: float, i_min: float, i_def: float,
         ri: float, ri_def: float) -> SimModel:  # fmt: skip
    vmin, vmax, vdef = v
    return SimModel(
        name=f"BIC-2200-{nominal:02d}",
        family="BIC",
        nominal_v=nominal,
        rated_a=i,
        spans={
            "VOUT_SET": Span(vmin, vmax, vdef),
            "REVERSE_VOUT_SET": Span(vmin, vmax, vmin),
            "IOUT_SET": Span(i_min, i, i_def),
            "REVERSE_IOUT_SET": Span(i_min, ri, ri_def),
        },
        auto_detect={
            "VOUT_SET": Span(vmin, vmax, float(nominal)),
            "IOUT_SET": Span(i_min, round(i * 1.1, 2), round(i * 1.1, 2)),
            "REVERSE_IOUT_SET": Span(i_min, ri, ri),
        },
    )


def _npb(watts: int, nominal: int, v: tuple[float, float], i: tuple[float, float]) -> SimModel:
    vmin, vmax = v
    imin, imax = i
    cv = {12: 14.4, 24: 28.8, 48: 57.6}[nominal]
    fv = {12: 13.8, 24: 27.6, 48: 55.2}[nominal]
    current = Span(imin, imax, imax)
    voltage = Span(vmin, vmax, cv)
    return SimModel(
        name=f"NPB-{watts}-{nominal}",
        family="NPB",
        nominal_v=nominal,
        rated_a=imax,
        spans={
            "VOUT_SET": voltage,
            "IOUT_SET": current,
            "CURVE_CC": current,
            "CURVE_CV": voltage,
            "CURVE_FV": Span(vmin, vmax, fv),
            "CURVE_TC": Span(round(imax * 0.02, 2), round(imax * 0.3, 2), round(imax * 0.1, 2)),
            "CHG_RST_VBAT": Span(vmin, vmax, vmin),
            "CURVE_CC_TIMEOUT": Span(60, 64800, 600),
            "CURVE_CV_TIMEOUT": Span(60, 64800, 600),
            "CURVE_FV_TIMEOUT": Span(60, 64800, 600),
        },
        auto_detect={},
        has_vin=watts >= 1200,
    )


Range = tuple[float, float]
_NPB_RANGES: dict[int, dict[int, tuple[Range, Range]]] = {  # watts -> nominal V -> (V, A) ranges
    450: {12: ((10.5, 21), (5, 25)), 24: ((21, 42), (2.7, 13.5)), 48: ((42, 80), (1.36, 6.8))},
    750: {12: ((10.5, 21), (8.6, 43)), 24: ((21, 42), (4.5, 22.5)), 48: ((42, 80), (2.26, 11.3))},
    1200: {12: ((10.5, 17.5), (14, 70)), 24: ((21, 42), (7.2, 36)), 48: ((42, 80), (3.6, 18))},
    1700: {12: ((10.5, 21), (17, 85)), 24: ((21, 42), (10, 50)), 48: ((42, 80), (5, 25))},
}

MODELS: dict[str, SimModel] = {
    m.name: m
    for m in (
        _bic(12, (10, 15, 12.6), 180, 1.8, 160, 153, 120),
        _bic(24, (19, 28, 25.2), 90, 0.9, 80, 76.5, 64.3),
        _bic(48, (38, 65, 50.4), 45, 0.45, 40, 38.3, 32.2),
        _bic(96, (76, 112, 100.8), 22.5, 0.25, 20, 19.1, 16.1),
        *(
            _npb(watts, nominal, v, i)
            for watts, by_v in _NPB_RANGES.items()
            for nominal, (v, i) in by_v.items()
        ),
    )
}
