"""The history's SQLite file: batched writes, retention per tier, a size cap, range reads.

One connection, used under one lock (writes come from the recorder's flush thread, reads from
HTTP handlers). Rows arrive in batches (one transaction per flush), so an SD card sees one
small write every flush interval instead of one per sample. A bucket written twice (a restart
inside a bucket) is merged, not duplicated.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from services.api.history import Row, Tier

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL REFERENCES series(id),
    step INTEGER NOT NULL,
    t INTEGER NOT NULL,
    avg REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (series, step, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_by_age ON samples (step, t);
"""

UPSERT = """
INSERT INTO samples (series, step, t, avg, min, max, n) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series, step, t) DO UPDATE SET
    avg = (avg * n + excluded.avg * excluded.n) / (n + excluded.n),
    min = MIN(min, excluded.min),
    max = MAX(max, excluded.max),
    n = n + excluded.n
"""

#: rows deleted per statement when the file is over its cap
TRIM_BATCH = 5000


class HistoryStore:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        with self._lock:
            # before the first table: lets the file give freed pages back
            self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(SCHEMA)
            self._ids = dict(self._db.execute("SELECT name, id FROM series"))

    def close(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()

    @property
    def series(self) -> list[str]:
        with self._lock:
            return sorted(self._ids)

    def _id(self, name: str) -> int:
        if name not in self._ids:
            cur = self._db.execute("INSERT INTO series (name) VALUES (?)", (name,))
            self._ids[name] = cur.lastrowid
        return self._ids[name]

    def write(self, rows: Iterable[Row]) -> int:
        """Store a batch in one transaction; returns how many rows it held."""
        rows = list(rows)
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    UPSERT,
                    [(self._id(r.series), r.step_s, r.t, r.avg, r.min, r.max, r.n) for r in rows],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._ids = dict(self._db.execute("SELECT name, id FROM series"))
                raise
        return len(rows)

    def prune(self, tiers: tuple[Tier, ...], now: float) -> int:
        """Delete what is older than each tier's retention, then the oldest rows over the cap."""
        deleted = 0
        with self._lock:
            self._db.execute("BEGIN")
            for tier in tiers:
                cur = self._db.execute(
                    "DELETE FROM samples WHERE step = ? AND t < ?",
                    (tier.step_s, int(now - tier.retention_s)),
                )
                deleted += cur.rowcount
            self._db.execute("COMMIT")
            while self._used_bytes() > self.max_bytes:
                # the oldest rows of the finest tier first: the coarser tiers keep the long view
                cur = self._db.execute(
                    "DELETE FROM samples WHERE (series, step, t) IN ("
                    "SELECT series, step, t FROM samples ORDER BY step, t LIMIT ?)",
                    (TRIM_BATCH,),
                )
                if cur.rowcount == 0:
                    break
                deleted += cur.rowcount
                self._db.execute("PRAGMA incremental_vacuum")
            self._db.execute("PRAGMA incremental_vacuum")
        return deleted

    def _used_bytes(self) -> int:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size

    def used_bytes(self) -> int:
        with self._lock:
            return self._used_bytes()

    def read(self, names: Iterable[str], step_s: int, start: float, end: float) -> list[Row]:
        """Rows of the tier ``step_s`` with start <= t <= end, for the named series."""
        with self._lock:
            ids = {self._ids[n]: n for n in names if n in self._ids}
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            cur = self._db.execute(
                f"SELECT series, t, avg, min, max, n FROM samples "
                f"WHERE step = ? AND t >= ? AND t <= ? AND series IN ({marks}) ORDER BY t",
                (step_s, int(start // step_s * step_s), int(end), *ids),
            )
            return [Row(ids[s], step_s, t, a, lo, hi, n) for s, t, a, lo, hi, n in cur]
