"""The results history: SQLite in WAL mode, so concurrent ``edgekit bench`` runs lose no rows.

SQLite's busy timeout does not cover every wait. It returns "database is locked" at once, without waiting, when a
connection that holds a read transaction asks to write while another one writes, and switching a new file to WAL
is such an upgrade: two processes that open a new database at the same moment collide there. So the journal mode is
set only when the file is not in WAL mode yet, every write takes its lock up front (``BEGIN IMMEDIATE``), and a
busy or locked answer is retried until ``timeout``. A lock held longer than that is a :class:`StoreBusy` naming the
process that holds it.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from edgekit.errors import EdgekitError, UsageError

DEFAULT_DB = Path("~/.edgekit/results.db")
TIMEOUT_S = 60.0  # how long a write waits for another process's lock
_TABLES = ("results", "results_run")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    target TEXT NOT NULL,
    model TEXT NOT NULL,
    quant TEXT,
    threads INTEGER,
    p50_ms REAL,
    doc TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS results_run ON results(run_id)",
)
T = TypeVar("T")


class StoreBusy(EdgekitError):
    """Another process held the results database's lock for longer than the timeout (exit 1)."""


class ResultStore:
    """Append and query results. Each ``edgekit bench`` invocation is one run with its own ``run_id``."""

    def __init__(self, path: str | Path | None = None, *, timeout: float | None = None):
        self.path = Path(path or DEFAULT_DB).expanduser()
        self.timeout = TIMEOUT_S if timeout is None else timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise _unwritable(self.path, err) from None
        try:
            self._retry(self._set_wal)
            self._retry(self._create_tables)
        except BaseException:
            self._db.close()
            raise

    def _set_wal(self) -> None:
        """WAL persists in the file, so only the first opener switches; a racing opener retries and finds it set."""
        if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")

    def _create_tables(self) -> None:
        have = self._db.execute(f"SELECT COUNT(*) FROM sqlite_master WHERE name IN {_TABLES}").fetchone()[0]
        if have < len(_TABLES):
            self._write(lambda: [self._db.execute(sql) for sql in _SCHEMA])

    def add(self, run_id: str, doc: dict) -> int:
        """Append one result in its own transaction; returns its id."""
        p50 = doc["latency_ms"]["p50"] if "latency_ms" in doc else None  # a failed result has no latency
        row = (run_id, doc["time_utc"], doc["target"], doc["model"], doc.get("quant"), doc.get("threads"), p50,
               json.dumps(doc, default=str))
        cur = self._retry(lambda: self._write(lambda: self._db.execute(
            "INSERT INTO results (run_id, time_utc, target, model, quant, threads, p50_ms, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)))
        return int(cur.lastrowid)

    def _write(self, body: Callable[[], T]) -> T:
        """``body`` in a transaction that holds the write lock from its start, so it never upgrades a read."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            out = body()
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return out

    def _retry(self, step: Callable[[], T]) -> T:
        """Run ``step``, again after a short pause while SQLite answers busy or locked, for up to ``timeout``."""
        deadline, pause = time.monotonic() + self.timeout, 0.001
        while True:
            try:
                return step()
            except sqlite3.Error as err:
                if not _busy(err):
                    raise _unwritable(self.path, err) from None
                if time.monotonic() >= deadline:
                    raise StoreBusy(self._busy_message()) from None
            time.sleep(pause * random.uniform(0.5, 1.5))  # jitter, so racing processes do not retry in step
            pause = min(pause * 2, 0.1)

    def _busy_message(self) -> str:
        holder = lock_holder(self.path)
        who = f"process {holder[0]} ({holder[2]}) holds its {holder[1]}" if holder else \
            "another process held its lock"
        return (f"the results database {str(self.path)!r} stayed locked for {self.timeout:g} s: {who}; "
                "wait for that process to finish or stop it, then run again")

    def last(self, n: int = 20, model: str | None = None) -> list[dict]:
        """The newest ``n`` results, oldest first, optionally of one model."""
        sql, args = "SELECT id, run_id, doc FROM results", []
        if model:
            sql, args = sql + " WHERE model = ?", [model]
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, n]).fetchall()
        return [self._doc(r) for r in reversed(rows)]

    def select(self, ref: str) -> list[dict]:
        """A result by id (``42``) or every result of a run by run id or its prefix (``3f9c``)."""
        if ref.isdigit():
            rows = self._db.execute("SELECT id, run_id, doc FROM results WHERE id = ?", [int(ref)]).fetchall()
            if rows:
                return [self._doc(r) for r in rows]
        rows = self._db.execute("SELECT id, run_id, doc FROM results WHERE run_id LIKE ? ORDER BY id",
                                [ref + "%"]).fetchall()
        if len({r[1] for r in rows}) > 1:
            raise UsageError(f"{ref!r} matches several runs; give more of the run id")
        if not rows:
            raise UsageError(f"no result or run {ref!r} in {str(self.path)!r}; see 'edgekit results'")
        return [self._doc(r) for r in rows]

    def find(self, field: str, value) -> dict | None:
        """The newest result whose document has ``field`` equal to ``value`` (e.g. a study's config key)."""
        if not field.isidentifier():
            raise ValueError(f"not a field name: {field!r}")
        row = self._db.execute("SELECT id, run_id, doc FROM results WHERE json_extract(doc, ?) = ? "
                               "ORDER BY id DESC LIMIT 1", [f"$.{field}", value]).fetchone()
        return self._doc(row) if row else None

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    @staticmethod
    def _doc(row) -> dict:
        return {"id": row[0], "run_id": row[1], **json.loads(row[2])}

    def close(self) -> None:
        self._db.close()


def _busy(err: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, with any extended code: the answers SQLite says to try again later."""
    return (getattr(err, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _unwritable(path: Path, err: BaseException) -> UsageError:
    return UsageError(f"cannot write the results database {str(path)!r} ({err}); pass --db with a writable path")


# The byte ranges SQLite locks (sqlite3.c: WALINDEX_LOCK_OFFSET in the -shm file, PENDING_BYTE in the database).
_SHM_LOCKS = {120: "write lock", 121: "checkpoint lock", 122: "recovery lock"}
_PENDING_BYTE = 0x40000000


def lock_holder(path: str | Path) -> tuple[int, str, str] | None:
    """(pid, which lock, its command line) of another process holding a write lock on the database, from
    ``/proc/locks`` (Linux); None elsewhere or when no such lock is held now."""
    files = {}
    for suffix, kind in (("-shm", "shm"), ("", "db")):
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        files[f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"] = kind
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:  # "1: POSIX  ADVISORY  WRITE 9692 fe:00:2206146 120 120"
        f = line.split()
        if len(f) < 8 or f[1] != "POSIX" or f[3] != "WRITE" or f[5] not in files or not f[4].isdigit():
            continue
        pid, start = int(f[4]), int(f[6])
        if pid == os.getpid():
            continue
        if files[f[5]] == "shm" and start in _SHM_LOCKS:
            return pid, _SHM_LOCKS[start], _cmdline(pid)
        if files[f[5]] == "db" and start >= _PENDING_BYTE:
            return pid, "write lock (rollback journal)", _cmdline(pid)
    return None


def _cmdline(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "command unknown"
    return text if len(text) <= 80 else text[:77] + "..."
