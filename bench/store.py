"""The results history: SQLite in WAL mode, so concurrent ``edgekit bench`` runs lose no rows.

SQLite's busy timeout does not cover every wait. It returns "database is locked" at once, without waiting, when a
connection that holds a read transaction asks to write while another one writes, and switching a new file to WAL
is such an upgrade: two processes that open a new database at the same moment collide there. So the journal mode is
set only when the file is not in WAL mode yet, every write takes its lock up front (``BEGIN IMMEDIATE``), and a
busy or locked answer is retried until ``timeout``. A lock held longer than that is a :class:`StoreBusy` naming the
process that holds it.

A writer reads the schema before it changes anything, so another program's SQLite file (or a corrupt one) is refused
untouched. A reader (``readonly=True``: ``edgekit results``) opens the file with SQLite's ``mode=ro``: it never
creates it, adds tables or changes its journal mode. ``bench.recovery.Recovery`` keeps the results a writer could
not store; ``bench.store_lock`` names the process that holds a lock.

Over 250 lines as one job: opening, checking, writing and reading the one SQLite file, whose retry and error
handling every one of those steps shares.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.store_errors import StoreBusy, StoreError, StoreUnwritable, unwritable
from bench.store_lock import lock_holder
from edgekit.atomic import refuse_special
from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result

DEFAULT_DB = Path("~/.edgekit/results.db")
TIMEOUT_S = 60.0  # how long a write waits for another process's lock
MAX_ID = 2**63 - 1  # SQLite's integers are 64-bit
_TABLES = ("results", "results_run")
_COLUMNS = ("id", "run_id", "time_utc", "target", "model", "quant", "threads", "p50_ms", "doc")
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
__all__ = ["DEFAULT_DB", "ResultStore", "StoreBusy", "StoreError", "StoreUnwritable"]


class ResultStore:
    """Append and query results. Each ``edgekit bench`` invocation is one run with its own ``run_id``.

    ``readonly``: open an existing database for reading only (``mode=ro``); a missing one is a StoreError.
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float | None = None, readonly: bool = False):
        self.path = Path(path or DEFAULT_DB).expanduser()
        self.timeout = TIMEOUT_S if timeout is None else timeout
        self.readonly = readonly
        self._empty = False  # a reader's database has no tables at all (an empty file)
        refuse_special(self.path, "--db")  # a FIFO would block, a device would get -wal and -shm files beside it
        if readonly:
            self._db = self._open_readonly()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise unwritable(self.path, err) from None
        try:
            self._retry(self._check_schema)  # before anything changes the file: another program's is left alone
            self._retry(self._set_wal)
            self._retry(self._create_tables)
        except BaseException:
            self._db.close()
            raise

    def _open_readonly(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreError(f"no results database at {str(self.path)!r}; run edgekit bench first, or pass --db "
                             "with the database's path")
        if self.path.is_dir():
            raise StoreError(f"--db {str(self.path)!r} is a folder, not a results database; pass --db with a file")
        try:
            return self._schema_read(_connect_ro(self.path, self.timeout))
        except sqlite3.Error as err:
            if not _readonly_folder(err, self.path):
                raise self._error(err) from None
        # WAL needs its -shm file, which a reader cannot create in a read-only folder; nothing can write the database
        # there either, so reading it as immutable sees all there is
        try:
            return self._schema_read(_connect_ro(self.path, self.timeout, immutable=True))
        except sqlite3.Error as err:
            raise self._error(err) from None

    def _schema_read(self, db: sqlite3.Connection) -> sqlite3.Connection:
        try:
            self._check_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _check_schema(self, db: sqlite3.Connection | None = None) -> None:
        """Refuse a database whose tables are not edgekit's; note a reader's empty one."""
        db = db or self._db
        tables = {n for t, n in db.execute("SELECT type, name FROM sqlite_master").fetchall()
                  if t == "table" and not n.startswith("sqlite_")}
        if "results" in tables:
            columns = [r[1] for r in db.execute("PRAGMA table_info(results)").fetchall()]
            if not set(_COLUMNS) <= set(columns):
                raise self._foreign(f"its results table has the columns {', '.join(columns)}, not edgekit's")
        elif tables:
            raise self._foreign(f"it has other tables ({', '.join(sorted(tables))}) and no results table")
        else:
            self._empty = True

    def _foreign(self, why: str) -> StoreError:
        return StoreError(f"{str(self.path)!r} is not an edgekit results database ({why}); edgekit leaves it as it "
                          "is: pass --db with the path of edgekit's database, or a new one",
                          reason=f"not an edgekit results database: {why}")

    def _set_wal(self) -> None:
        """WAL persists in the file, so only the first opener switches; a racing opener retries and finds it set."""
        if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")

    def _create_tables(self) -> None:
        have = self._db.execute(f"SELECT COUNT(*) FROM sqlite_master WHERE name IN {_TABLES}").fetchone()[0]
        if have < len(_TABLES):
            self._write(lambda: [self._db.execute(sql) for sql in _SCHEMA])
        self._empty = False

    def add(self, run_id: str, result: Result) -> int:
        """Append one result in its own transaction; returns its id."""
        if self.readonly:
            raise ValueError("a read-only ResultStore cannot add")
        doc = result.to_dict()  # the database's document
        p50 = result.p50_ms
        row = (_text(run_id), _text(doc["time_utc"]), _text(doc["target"]), _text(doc["model"]),
               _text(doc.get("quant")), doc.get("threads"), p50, json.dumps(doc, default=str))
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
                    raise self._error(err) from None
                if time.monotonic() >= deadline:
                    raise self._busy() from None
            time.sleep(pause * random.uniform(0.5, 1.5))  # jitter, so racing processes do not retry in step
            pause = min(pause * 2, 0.1)

    def _busy(self) -> StoreBusy:
        holder = lock_holder(self.path)
        who = f"process {holder[0]} ({holder[2]}) holds its {holder[1]}" if holder else \
            "another process held its lock"
        return StoreBusy(f"the results database {str(self.path)!r} stayed locked for {self.timeout:g} s: {who}; "
                         "wait for that process to finish or stop it, then run again",
                         reason=f"it stayed locked for {self.timeout:g} s: {who}")

    def _error(self, err: sqlite3.Error) -> EdgekitError:
        """The one-line error for what SQLite answered: corrupt, not a database, or (a writer) not writable."""
        code = getattr(err, "sqlite_errorcode", 0) & 0xFF
        path = str(self.path)
        if code == sqlite3.SQLITE_CORRUPT:
            return StoreError(f"the results database {path!r} is corrupt ({err}); move it aside (edgekit starts a new "
                              "one) or pass --db with another path", reason=f"it is corrupt: {err}")
        if code == sqlite3.SQLITE_NOTADB:
            return StoreError(f"{path!r} is not an SQLite database, so not edgekit's results ({err}); pass --db with "
                              "the path of edgekit's database, or a new one", reason=f"not an SQLite database: {err}")
        if self.readonly:
            return StoreError(f"cannot read the results database {path!r} ({err})", reason=str(err))
        return unwritable(self.path, err)

    def _rows(self, sql: str, args: list) -> list:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from None

    def last(self, n: int = 20, model: str | None = None) -> list[Result]:
        """The newest ``n`` results, oldest first, optionally of one model."""
        if self._empty:
            return []
        sql, args = "SELECT id, run_id, doc FROM results", []
        if model:
            sql, args = sql + " WHERE model = ?", [_text(model)]
        rows = self._rows(sql + " ORDER BY id DESC LIMIT ?", [*args, max(0, min(n, MAX_ID))])
        return [self._result(r) for r in reversed(rows)]

    def select(self, ref: str) -> list[Result]:
        """A result by id (``42``) or every result of a run by run id or its prefix (``3f9c``)."""
        rows = []
        if not self._empty and ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID:  # larger: no such id
            rows = self._rows("SELECT id, run_id, doc FROM results WHERE id = ?", [int(ref)])
        if not rows and not self._empty:
            rows = self._rows("SELECT id, run_id, doc FROM results WHERE substr(run_id, 1, ?) = ? ORDER BY id",
                              [len(ref), _text(ref)])
        if len({r[1] for r in rows}) > 1:
            raise UsageError(f"{ref!r} matches several runs; give more of the run id")
        if not rows:
            raise UsageError(f"no result or run {ref!r} in {str(self.path)!r}; see 'edgekit results'")
        return [self._result(r) for r in rows]

    def find(self, field: str, value) -> Result | None:
        """The newest result whose document has ``field`` equal to ``value`` (e.g. a study's config key)."""
        if not field.isidentifier():
            raise ValueError(f"not a field name: {field!r}")
        if self._empty:
            return None
        rows = self._rows("SELECT id, run_id, doc FROM results WHERE json_extract(doc, ?) = ? "
                          "ORDER BY id DESC LIMIT 1", [f"$.{field}", _text(value)])
        return self._result(rows[0]) if rows else None

    def count(self) -> int:
        return 0 if self._empty else int(self._rows("SELECT COUNT(*) FROM results", [])[0][0])

    @staticmethod
    def _result(row) -> Result:
        """A row's result, its ``id`` and ``run_id`` first in its document (as ``edgekit results --json`` shows)."""
        return Result.from_dict({"id": row[0], "run_id": row[1], **json.loads(row[2])})

    def close(self) -> None:
        self._db.close()


def _text(value):
    """A str as SQLite can take it: a path from the filesystem may hold lone surrogates (bytes that are not
    UTF-8), which become ``\\udcff`` here; the document keeps them exactly (JSON escapes them the same way)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _connect_ro(path: Path, timeout: float, *, immutable: bool = False) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(os.fsencode(path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as err:
        raise StoreError(f"cannot read the results database {str(path)!r} ({err})", reason=str(err)) from None


def _readonly_folder(err: sqlite3.Error, path: Path) -> bool:
    """SQLite could not create a WAL database's -shm file because the folder (or its file system) is read-only."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) and not os.access(path.parent, os.W_OK)


def _busy(err: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, with any extended code: the answers SQLite says to try again later."""
    return (getattr(err, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
