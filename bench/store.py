"""The results history: SQLite in WAL mode, so concurrent ``edgekit bench`` runs lose no rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from edgekit.errors import UsageError

DEFAULT_DB = Path("~/.edgekit/results.db")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    target TEXT NOT NULL,
    model TEXT NOT NULL,
    quant TEXT,
    threads INTEGER,
    p50_ms REAL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
"""


class ResultStore:
    """Append and query results. Each ``edgekit bench`` invocation is one run with its own ``run_id``."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or DEFAULT_DB).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise UsageError(f"cannot write the results database {str(self.path)!r} ({err}); pass --db with a "
                             "writable path") from None

    def add(self, run_id: str, doc: dict) -> int:
        """Append one result in its own transaction; returns its id."""
        p50 = doc["latency_ms"]["p50"] if "latency_ms" in doc else None  # a failed result has no latency
        row = (run_id, doc["time_utc"], doc["target"], doc["model"], doc.get("quant"), doc.get("threads"), p50,
               json.dumps(doc, default=str))
        try:
            with self._db:
                cur = self._db.execute("INSERT INTO results (run_id, time_utc, target, model, quant, threads, "
                                       "p50_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        except sqlite3.Error as err:
            raise UsageError(f"cannot write to {str(self.path)!r} ({err}); pass --db with a writable path") from None
        return int(cur.lastrowid)

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
