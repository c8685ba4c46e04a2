"""Atomic writes: a temporary file in the same folder, then a rename. Nothing partial is ever left behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, data: bytes, force: bool) -> None:
    """Write ``data`` to ``path``; an existing file is replaced only with ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise EdgekitError(f"{str(path)!r} already exists; pass --force to replace it")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the user's usual mode
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise EdgekitError(f"cannot write {str(path)!r}: {err.strerror}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
