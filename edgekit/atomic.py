"""Atomic writes: a temporary file in the same folder, then a rename. Nothing partial is ever left behind."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refuse_special(path: str | os.PathLike, option: str) -> None:
    """Refuse an output path that exists and is neither a regular file nor a folder (a device node, a socket, a
    FIFO): ``--force`` would otherwise replace, say, /dev/null with a regular file. A symlink is judged by what
    it points to. ``option`` names the option in the message (``-o``, ``--csv``, ``--out``)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return  # nothing there (or a dangling link): an ordinary new file
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        what = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file")
        raise UsageError(f"{option} {os.fsdecode(path)!r} is {what}, not a regular file; edgekit never replaces "
                         f"one, even with --force: choose another path")


def write_temp(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to a new hidden temporary beside ``path`` (``.NAME.XXXX.tmp``, the user's usual file mode) and
    return its name, for a caller that renames several files into place together. On any failure it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: str | os.PathLike, data: bytes, force: bool) -> None:
    """Write ``data`` to ``path``; an existing file is replaced only with ``force``, and a special file (a device,
    a socket, a FIFO) never."""
    path = Path(path)
    refuse_special(path, "output")
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
