"""The results of a run that the database could not take (``bench.store``), kept in a JSON file so none is lost."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bench.store import ResultStore, StoreError
from edgekit.atomic import write_atomic
from edgekit.errors import EdgekitError, first_line
from edgekit.result import Result


class Recovery:
    """The results of a run that the database could not take, kept in a JSON file so that none is lost.

    Once storing one fails (a full disk, a corrupt page, a lock held past the timeout, anything), that result and
    every later one go to ``<database name>.unsaved-<run id>.json`` beside the database, or in the current folder
    when that cannot be written; the file is rewritten, atomically, as each result arrives. :meth:`error` is the
    line the run ends with. Thread-safe: a fleet's hosts, each with its own ResultStore, share one.
    """

    def __init__(self, db: Path):
        self.db = Path(db)
        self.docs: list[dict] = []
        self.cause: BaseException | None = None
        self.file: Path | None = None  # where the kept results are, once written
        self.write_error: str | None = None  # why they could not be written anywhere
        self._lock = threading.Lock()

    def keep(self, store: ResultStore | None, run_id: str, result: Result) -> int | None:
        """Store ``result`` and return its id; None when it went to the recovery file instead."""
        if store is not None and self.cause is None:
            try:
                return store.add(run_id, result)
            except Exception as err:  # whatever the store says, the measurement is kept
                self.note(err)
        with self._lock:
            self.docs.append({**result.to_dict(), "id": None, "run_id": run_id})  # the recovery file's documents
            self._write(run_id)
        return None

    def stored(self, store: ResultStore | None, run_id: str, result: Result) -> Result:
        """:meth:`keep` ``result``, and return it with its ``id`` (None in the recovery file) and ``run_id``."""
        return result.with_keys(id=self.keep(store, run_id, result), run_id=run_id)

    def note(self, err: BaseException) -> None:
        """Record why the database failed (the first cause is the one named); later results go to the file."""
        with self._lock:
            self.cause = self.cause or err

    def _write(self, run_id: str) -> None:
        data = (json.dumps(self.docs, indent=1, default=str) + "\n").encode()
        name = f"{self.db.name}.unsaved-{run_id}.json"
        places = [self.file] if self.file else []
        places += [p for p in (self.db.parent / name, _here(name)) if p is not None and p not in places]
        errors = []
        for place in places:
            try:
                write_atomic(place, data, force=place == self.file)  # never over a file this run did not write
            except (EdgekitError, OSError) as err:
                errors.append(str(err))
                continue
            self.file, self.write_error = place, None
            return
        self.write_error = "; ".join(errors)

    def error(self) -> StoreError | None:
        """The one line a run ends with when results were not stored (exit 1), else None."""
        if not self.docs:
            return None
        reason = getattr(self.cause, "reason", None) or first_line(self.cause)
        where = (f"they are kept in {str(self.file)!r}" if self.file else
                 f"they could not be written to a recovery file either ({self.write_error}): only what this run "
                 "printed or wrote has them")
        return StoreError(f"{len(self.docs)} result(s) could not be stored in the results database "
                          f"{str(self.db)!r} ({reason}); {where}")


def _here(name: str) -> Path | None:
    """``name`` in the current folder, as an absolute path (None when that folder is gone)."""
    try:
        return Path.cwd() / name
    except OSError:
        return None
