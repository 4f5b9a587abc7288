"""Records the dashboard's series from the state topics into the history store.

``series_values`` (pure) says which numbers of which payload become which series. The recorder
feeds them to the downsampler on the network thread and writes the closed buckets in one batch
every ``flush_interval_s`` (and on shutdown) from its own thread. When the file cannot be
written the rows wait in memory (up to ``MAX_PENDING_ROWS``) for the next try, and the log says
so once per failure streak.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from services.api.history import DAY_S, Downsampler, Row, Tier, choose_step, regroup
from services.api.history_store import HistoryStore

log = structlog.get_logger("api")

#: rows kept in memory while the file cannot be written (about 10 minutes of 20 series)
MAX_PENDING_ROWS = 50_000


class HistorySettings(BaseModel):
    """``api.history`` in the config file."""

    model_config = ConfigDict(extra="forbid")

    #: the SQLite file (on the api's volume); null: no history, /history answers 503
    file: Path | None = Path("/data/history.sqlite")
    #: closed buckets are written in one transaction this often (SD cards: keep it >= 30 s)
    flush_interval_s: float = Field(60.0, ge=0.05, le=3600)
    keep_1s_days: float = Field(1.0, gt=0, le=30)
    keep_1min_days: float = Field(30.0, gt=0, le=400)
    keep_15min_days: float = Field(365.0, gt=0, le=3650)
    #: the file never grows past this: the oldest fine-grained rows go first
    max_mb: float = Field(500.0, ge=1, le=100_000)
    #: new series beyond this many are not recorded (vehicles and units are few)
    max_series: int = Field(200, ge=1, le=10_000)

    def tiers(self) -> tuple[Tier, ...]:
        return (
            Tier(1, int(self.keep_1s_days * DAY_S)),
            Tier(60, int(self.keep_1min_days * DAY_S)),
            Tier(900, int(self.keep_15min_days * DAY_S)),
        )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return None
        else:
            return None
    return float(value) if math.isfinite(value) else None


#: payload key -> series suffix, per kind of state topic
CONTROLLER_SERIES = {"grid_w": "grid_w", "battery_w": "battery_w", "setpoint_w": "setpoint_w"}
BIC_SERIES = {"ac_power": "power_w", "voltage": "voltage", "current": "current"}
BIC_SERIES_SLOW = {"temperature": "temperature"}
VEHICLE_SERIES = {"soc": "soc", "soh": "soh"}


def series_values(kind: str, key: str, data: Any) -> dict[str, float]:
    """Series name -> value carried by one message (kind as in the API's state cache)."""
    out: dict[str, float] = {}

    def take(mapping: dict[str, str], prefix: str, source: Any) -> None:
        if not isinstance(source, dict):
            return
        for field, suffix in mapping.items():
            value = _number(source.get(field))
            if value is not None:
                out[prefix + suffix] = value

    if kind == "controller":
        take(CONTROLLER_SERIES, "", data)
        soc = data.get("soc") if isinstance(data, dict) else None
        pct = _number(soc.get("pct")) if isinstance(soc, dict) else None
        if pct is not None:
            out["battery_soc"] = pct
    elif kind == "bic":
        take({**BIC_SERIES, **BIC_SERIES_SLOW}, f"bic.{key}.", data)
    elif kind == "vehicles":
        take(VEHICLE_SERIES, f"vehicle.{key}.", data)
    elif kind in ("energy_charged", "energy_discharged"):
        value = _number(data)
        if value is not None:
            out[f"bic.{key}.{kind}_kwh"] = value
    return out


class HistoryRecorder:
    def __init__(
        self,
        settings: HistorySettings,
        store: HistoryStore,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.wall = wall
        self.tiers = settings.tiers()
        self.sampler = Downsampler(self.tiers, settings.max_series)
        self.sampler.seed(store.series)
        self.lock = threading.Lock()
        self.written = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="history-flush", daemon=True)

    @classmethod
    def open(cls, settings: HistorySettings) -> HistoryRecorder | None:
        """The recorder, or None (logged) when history is off or its file cannot be opened."""
        if settings.file is None:
            log.info("history_off", reason="api.history.file is null")
            return None
        try:
            store = HistoryStore(settings.file, int(settings.max_mb * 1024 * 1024))
        except (OSError, sqlite3.Error) as exc:  # a read-only, full or missing volume
            log.error("history_unavailable", path=str(settings.file), reason=str(exc))
            return None
        log.info("history_open", path=str(settings.file), series=len(store.series))
        return cls(settings, store)

    def observe(self, kind: str, key: str, data: Any) -> None:
        values = series_values(kind, key, data)
        if not values:
            return
        now = self.wall()
        with self.lock:
            for name, value in values.items():
                self.sampler.add(name, now, value)

    # --- writing ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self.lock:
            self.sampler.close_all()
        self.flush()
        self.store.close()

    def _run(self) -> None:
        last_prune = 0.0
        while not self._stop.wait(self.settings.flush_interval_s):
            self.flush()
            now = self.wall()
            if now - last_prune >= 3600 or self.store.used_bytes() > self.store.max_bytes:
                try:
                    self.store.prune(self.tiers, now)
                except (OSError, sqlite3.Error) as exc:
                    log.error("history_prune_failed", reason=str(exc))
                last_prune = now

    def flush(self) -> int:
        """Write every closed bucket in one transaction; on failure keep them for the next."""
        with self.lock:
            self.sampler.close_due(self.wall())
            rows = self.sampler.take_pending()
        try:
            written = self.store.write(rows)
        except (OSError, sqlite3.Error) as exc:  # disk full, volume gone
            with self.lock:
                kept = (rows + self.sampler.pending)[-MAX_PENDING_ROWS:]
                lost = len(rows) + len(self.sampler.pending) - len(kept)
                self.sampler.pending = kept
            self.failures += 1
            if self.failures == 1 or lost:
                log.error(
                    "history_write_failed",
                    path=str(self.store.path),
                    reason=str(exc),
                    kept_rows=len(kept),
                    dropped_rows=lost,
                )
            return 0
        if self.failures:
            log.info("history_write_recovered", after_failures=self.failures)
            self.failures = 0
        self.written += written
        return written

    # --- reading ------------------------------------------------------------------------
    def known_series(self) -> list[str]:
        with self.lock:
            return sorted(self.sampler.series | set(self.store.series))

    def query(
        self, names: list[str], start: float, end: float, max_points: int
    ) -> tuple[int, dict[str, list[Row]]]:
        """(step of the answer, series -> rows by time), stored and not yet stored alike."""
        tier, step = choose_step(self.tiers, start, end, self.wall(), max_points)
        wanted = set(names)
        stored = self.store.read(wanted, tier.step_s, start, end)
        with self.lock:
            fresh = self.sampler.unstored(tier.step_s, wanted, start, end)
        by_series: dict[str, list[Row]] = {n: [] for n in names}
        for row in stored + fresh:
            by_series[row.series].append(row)
        return step, {n: regroup(rows, step) for n, rows in by_series.items()}
