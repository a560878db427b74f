"""The Scheduler's durable job store: one SQLite file (WAL, synchronous=NORMAL).

One row per job, keyed by (namespace, app-id, name), holding the job as scheduled plus its
counter (go-etcd-cron ``counter.go``): completed ticks, the last tick, the attempts made on
the current tick and when the next attempt is due. A committed write survives a crash of
the process (WAL); that is what ``kill -9`` tests rely on.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..schedules import JobTiming

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    ns TEXT NOT NULL,
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    gen INTEGER NOT NULL,
    schedule TEXT,
    repeats INTEGER,
    due_time TEXT,
    ttl TEXT,
    data TEXT,
    policy TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    due_ns INTEGER,
    exp_ns INTEGER,
    count INTEGER NOT NULL DEFAULT 0,
    last_ns INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    tick_ns INTEGER NOT NULL,
    next_ns INTEGER NOT NULL,
    PRIMARY KEY (ns, app, name)
) WITHOUT ROWID;
"""

Key = tuple[str, str, str]

#: When the background thread checkpoints the WAL. After each completed checkpoint the next
#: commit restarts the WAL and fsyncs its header (SQLite does so even under synchronous=NORMAL)
#: on the thread that commits: the event loop. That fsync is usually well under 1 ms, but on a
#: busy shared disk it has stalled the loop (and every trigger due meanwhile) for 20-500 ms.
#: So checkpoint after about as much writing as SQLite's own autocheckpoint (1000 pages), or
#: every few seconds once anything was written, rather than twice a second.
_CHECKPOINT_WRITES = 1000
_CHECKPOINT_EVERY = 10.0


@dataclass(frozen=True)
class JobRecord:
    """A stored job and its counter. ``tick_ns`` is the tick being attempted; the next
    attempt is due at ``next_ns`` (the tick itself, or a retry after it)."""

    ns: str
    app: str
    name: str
    gen: int
    schedule: str | None
    repeats: int | None
    due_time: str | None
    ttl: str | None
    data: str | None
    policy: str  # JSON of the failure policy as stored (the default when none was given)
    start_ns: int
    due_ns: int | None
    exp_ns: int | None
    count: int
    last_ns: int | None
    attempts: int
    tick_ns: int
    next_ns: int

    @property
    def key(self) -> Key:
        return (self.ns, self.app, self.name)

    def timing(self) -> JobTiming:
        return JobTiming(self.schedule, self.repeats, self.start_ns, self.due_ns, self.exp_ns)

    def advanced(self, **changes: object) -> JobRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


_COLUMNS = ("ns, app, name, gen, schedule, repeats, due_time, ttl, data, policy, start_ns, "
            "due_ns, exp_ns, count, last_ns, attempts, tick_ns, next_ns")


class Store:
    """Synchronous SQLite access; the Scheduler calls it from its event loop thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        # Checkpoints fsync; done inline they stall the event loop for milliseconds. A
        # background thread checkpoints instead (PASSIVE: it never blocks the writer).
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._writes = 0  # bumped by the writer (loop) thread only; read by the checkpointer
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, daemon=True,
                                              name="jobslab-checkpoint")
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        done, since = self._writes, time.monotonic()
        try:
            while not self._stop.wait(0.5):
                pending = self._writes - done
                if pending >= _CHECKPOINT_WRITES or (
                        pending and time.monotonic() - since >= _CHECKPOINT_EVERY):
                    done, since = self._writes, time.monotonic()
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join(5)
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    def max_gen(self) -> int:
        row = self.db.execute("SELECT MAX(gen) FROM jobs").fetchone()
        return int(row[0] or 0)

    def get(self, key: Key) -> JobRecord | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE ns=? AND app=? AND name=?", key
        ).fetchone()
        return None if row is None else JobRecord(*row)

    def put(self, rec: JobRecord) -> None:
        """Insert or replace a whole job (schedule, overwrite)."""
        self._writes += 1
        self.db.execute(
            f"INSERT OR REPLACE INTO jobs ({_COLUMNS}) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rec.ns, rec.app, rec.name, rec.gen, rec.schedule, rec.repeats, rec.due_time,
             rec.ttl, rec.data, rec.policy, rec.start_ns, rec.due_ns, rec.exp_ns, rec.count,
             rec.last_ns, rec.attempts, rec.tick_ns, rec.next_ns),
        )

    def update_counter(self, rec: JobRecord) -> None:
        self._writes += 1
        self.db.execute(
            "UPDATE jobs SET count=?, last_ns=?, attempts=?, tick_ns=?, next_ns=? "
            "WHERE ns=? AND app=? AND name=? AND gen=?",
            (rec.count, rec.last_ns, rec.attempts, rec.tick_ns, rec.next_ns, rec.ns, rec.app,
             rec.name, rec.gen),
        )

    def delete(self, key: Key, gen: int | None = None) -> bool:
        self._writes += 1
        if gen is None:
            cur = self.db.execute("DELETE FROM jobs WHERE ns=? AND app=? AND name=?", key)
        else:
            cur = self.db.execute(
                "DELETE FROM jobs WHERE ns=? AND app=? AND name=? AND gen=?", (*key, gen)
            )
        return cur.rowcount > 0

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def list(self, ns: str | None = None, app: str | None = None) -> list[JobRecord]:
        sql, args = f"SELECT {_COLUMNS} FROM jobs", []
        conds = []
        if ns is not None:
            conds.append("ns=?")
            args.append(ns)
        if app is not None:
            conds.append("app=?")
            args.append(app)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += " ORDER BY ns, app, name"
        return [JobRecord(*row) for row in self.db.execute(sql, args)]

    def schedule_index(self) -> Iterator[tuple[int, int, str, str, str]]:
        """(next_ns, gen, ns, app, name) of every job: what the Scheduler's heap needs."""
        yield from self.db.execute("SELECT next_ns, gen, ns, app, name FROM jobs")
