"""The results database's errors (``bench.store``): each a one-line message naming the file, with its bare cause
in ``reason`` for messages that name the file themselves."""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import EdgekitError, UsageError


class StoreError(EdgekitError):
    """The results database cannot be used: missing, corrupt, another program's, or locked (exit 1).

    ``reason`` is the cause alone (``database disk image is malformed``), for messages that name the file
    themselves."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class StoreUnwritable(UsageError):
    """The results database cannot be created or written where ``--db`` says (exit 2: pass another --db)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class StoreBusy(StoreError):
    """Another process held the results database's lock for longer than the timeout (exit 1)."""


def unwritable(path: Path, err: BaseException) -> StoreUnwritable:
    """The error of a database that cannot be created or written where ``--db`` says."""
    return StoreUnwritable(f"cannot write the results database {str(path)!r} ({err}); pass --db with a writable "
                           "path", reason=str(err))
