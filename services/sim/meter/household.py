"""House net power (load - PV, > 0 import) over simulated time, without the battery (pure).

``trace``: the RAE 1 Hz household load (x ``load_scale``) minus the Cyprus 30 s PV
(x ``pv_scale``), looped; ``constant``: ``base_w``; ``step``: ``base_w`` and
``base_w + step_w`` alternating every ``step_period_s``. An extra load set at runtime
(``sim/meter/set/load_w``) is added by the caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from services.sim.traces import HOUSEHOLD, PROSUMER, interpolate, read_rows

Source = Literal["trace", "constant", "step"]


class Household:
    def __init__(
        self,
        source: Source,
        trace_dir: Path,
        load_scale: float = 1.0,
        pv_scale: float = 0.4,
        base_w: float = 300.0,
        step_w: float = 1000.0,
        step_period_s: float = 60.0,
    ) -> None:
        self.source = source
        self.load_scale, self.pv_scale = load_scale, pv_scale
        self.base_w, self.step_w, self.step_period_s = base_w, step_w, step_period_s
        self._load: tuple[list[float], list[float]] | None = None
        self._pv: tuple[list[float], list[float]] | None = None
        if source == "trace":
            load = read_rows(trace_dir / HOUSEHOLD)
            pv = read_rows(trace_dir / PROSUMER)
            self._load = ([r[0] for r in load], [r[1] for r in load])
            self._pv = ([r[0] for r in pv], [r[2] for r in pv])
            self.span_s = min(self._load[0][-1], self._pv[0][-1])

    def net_w(self, sim_t: float) -> float:
        if self.source == "constant":
            return self.base_w
        if self.source == "step":
            high = int(sim_t // self.step_period_s) % 2 == 1
            return self.base_w + (self.step_w if high else 0.0)
        assert self._load is not None and self._pv is not None
        t = sim_t % self.span_s
        load = interpolate(*self._load, t) * self.load_scale
        pv = interpolate(*self._pv, t) * self.pv_scale
        return load - pv
