"""The NPB charger models and their setpoint ranges, as data (docs/npb.md#models-and-ranges).

Sources: the NPB manual's range table as restated by two field-tested tools (MacGH23's library
settings and skippermeister's OpenDTU fork). Voltage range by voltage class, current range by
wattage and voltage class; the current minimum is about 20 % of the maximum, so an NPB cannot
follow a small surplus (docs/npb.md).

The curve registers take the same ranges as the setpoints they correspond to: CURVE_CC as
IOUT_SET, CURVE_CV/CURVE_FV/CHG_RST_VBAT as VOUT_SET. CURVE_TC has no documented range in our
sources; we allow 2-30 % of the maximum current (the observed firmware taper point is ~10 %).
The stage time-outs take 60-64800 minutes (the NPB range table; another page says 1-6000: the
gateway keeps to the range table).
"""

from __future__ import annotations

from .models import DeviceModel
from .registers import ValueRange

NPB_WATTS: tuple[int, ...] = (450, 750, 1200, 1700)
NPB_VOLTS: tuple[int, ...] = (12, 24, 48)
#: models that answer READ_VIN (NPB-450/750 do not)
VIN_FROM_WATTS = 1200
TIMEOUT_RANGE = ValueRange(60, 64800)
TAPER_FRACTIONS = (0.02, 0.30)

# watts -> nominal V -> ((V min, V max), (A min, A max))
# fmt: off
NPB_RANGES: dict[int, dict[int, tuple[tuple[float, float], tuple[float, float]]]] = {
    450: {12: ((10.5, 21), (5, 25)), 24: ((21, 42), (2.7, 13.5)), 48: ((42, 80), (1.36, 6.8))},
    750: {12: ((10.5, 21), (8.6, 43)), 24: ((21, 42), (4.5, 22.5)), 48: ((42, 80), (2.26, 11.3))},
    1200: {12: ((10.5, 17.5), (14, 70)), 24: ((21, 42), (7.2, 36)), 48: ((42, 80), (3.6, 18))},
    1700: {12: ((10.5, 21), (17, 85)), 24: ((21, 42), (10, 50)), 48: ((42, 80), (5, 25))},
}
# fmt: on


def npb_model(watts: int, nominal: int) -> DeviceModel:
    (v_min, v_max), (a_min, a_max) = NPB_RANGES[watts][nominal]
    volts, amps = ValueRange(v_min, v_max), ValueRange(a_min, a_max)
    taper = ValueRange(round(a_max * TAPER_FRACTIONS[0], 2), round(a_max * TAPER_FRACTIONS[1], 2))
    ranges = {
        "VOUT_SET": volts,
        "IOUT_SET": amps,
        "CURVE_CC": amps,
        "CURVE_CV": volts,
        "CURVE_FV": volts,
        "CURVE_TC": taper,
        "CHG_RST_VBAT": volts,
        "CURVE_CC_TIMEOUT": TIMEOUT_RANGE,
        "CURVE_CV_TIMEOUT": TIMEOUT_RANGE,
        "CURVE_FV_TIMEOUT": TIMEOUT_RANGE,
        # read-back plausibility: the DC side never exceeds the setpoint maxima
        "READ_VOUT": ValueRange(0, v_max),
        "READ_IOUT": ValueRange(0, a_max),
    }
    return DeviceModel(
        f"NPB-{watts}-{nominal}",
        nominal,
        a_max,
        family="NPB",
        ranges=tuple(ranges.items()),
        has_vin=watts >= VIN_FROM_WATTS,
    )


NPB_MODELS: dict[str, DeviceModel] = {
    model.name: model
    for model in (npb_model(watts, volts) for watts in NPB_WATTS for volts in NPB_VOLTS)
}
