"""Where results go: checked up front, written atomically (temporary files, then renames), never clobbered.

A model and its sidecar are a pair (:func:`write_pair`): both are written to temporaries first, and only then
renamed into place, so that no moment, not even one a ``kill -9`` catches, shows the new model beside the old
sidecar. A special file (a device, a socket, a FIFO) is never replaced, even with ``--force``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from edgekit.atomic import refuse_special, write_atomic, write_temp
from edgekit.errors import EdgekitError
from edgekit.runtime.sidecar import sidecar_path

__all__ = ["check_output", "default_output", "sidecar_path", "write_atomic", "write_pair"]

_SIDECAR = "the sidecar of -o"
_TFLITE_ID = b"TFL3"  # a .tflite flatbuffer's file identifier, bytes 4 to 8


def default_output(name: str, tag: str) -> Path:
    return Path.cwd() / f"{name}_{tag}.tflite"


def check_output(out: Path, force: bool) -> Path:
    """Refuse, before any work, an output that exists (without ``force``), a special file (with ``force`` too) or a
    folder we cannot write. A ``.tflite`` model without its sidecar passes without ``force``: it may be this
    conversion's own half-written pair, which :func:`write_pair` finishes if its bytes are the same."""
    out = Path(out).expanduser()
    side = sidecar_path(out)
    refuse_special(out, "-o")
    refuse_special(side, _SIDECAR)
    if out.is_dir():
        raise EdgekitError(f"output {str(out)!r} is a folder; pass a file name ending in .tflite")
    if side.is_dir():
        raise EdgekitError(f"the sidecar of -o, {str(side)!r}, is a folder; move it away or pick another name "
                           "with -o")
    if not force:
        for path in (out, side):
            if os.path.lexists(path) and not (path == out and _maybe_orphan(out)):
                raise EdgekitError(f"{str(path)!r} already exists; pass --force to replace it or -o to pick "
                                   "another name")
    folder = out.parent
    if not folder.is_dir():
        raise EdgekitError(f"cannot write {str(out)!r}: folder {str(folder)!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=".probe")
    except OSError as err:
        raise EdgekitError(f"cannot write to folder {str(folder)!r}: {err.strerror}; "
                           "choose another with -o") from None
    os.close(fd)
    os.unlink(probe)
    return out


def write_pair(out: Path, model: bytes, sidecar: dict, force: bool) -> None:
    """Write the model ``out`` and its sidecar as a pair: either the old pair or the new one, never a mix.

    Both go to temporaries beside their names first (a full disk fails here, and nothing has changed). Then the
    old sidecar and the old model are set aside under hidden names, the new model and the new sidecar are renamed
    into place, and what was set aside is deleted. Any failure before the end, Ctrl-C included, puts the old pair
    back. A ``kill -9`` cannot be cleaned up after, but since the old sidecar goes first and the new one last,
    what it leaves is at worst a model without a sidecar (and a hidden ``.NAME.PID.old``), never a model beside
    the other model's sidecar.

    Without ``force`` an existing file is refused, with one exception: a model with no sidecar whose bytes are
    exactly ``model``. That is this conversion's own pair, cut short between its two renames; a re-run makes the
    same bytes (they come from the conversion cache, filled before the pair is written), so the sidecar is
    written and the pair is whole. Byte identity is the rule because it is the one that cannot take a user's
    file for edgekit's: an orphan that differs is refused as any existing file is.
    """
    out = Path(out)
    side = sidecar_path(out)
    refuse_special(out, "-o")
    refuse_special(side, _SIDECAR)
    text = (json.dumps(sidecar, indent=2, default=str) + "\n").encode()
    if not force and not os.path.lexists(side) and _same_bytes(out, model):
        write_atomic(side, text, force=False)  # finish the pair a killed run left
        return
    if not force:
        for path in (out, side):
            if os.path.lexists(path):
                raise EdgekitError(f"{str(path)!r} already exists; pass --force to replace it or -o to pick "
                                   "another name")
    _replace_pair(out, model, side, text)


def _replace_pair(out: Path, model: bytes, side: Path, text: bytes) -> None:
    temps: dict[Path, str] = {}
    saved: list[tuple[Path, Path]] = []  # (hidden name, name): the old files, set aside
    placed: list[Path] = []
    where = out
    try:
        for where, data in ((out, model), (side, text)):
            temps[where] = write_temp(where, data)
        for where in (side, out):  # the old sidecar first: from here on no moment shows a mix
            if os.path.lexists(where):
                hidden = where.with_name(f".{where.name}.{os.getpid()}.old")
                os.replace(where, hidden)
                saved.append((hidden, where))
        for where in (out, side):  # the new sidecar last: a model without one is all a kill can leave
            os.replace(temps[where], where)
            del temps[where]
            placed.append(where)
    except BaseException as err:
        for path in placed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for hidden, path in reversed(saved):
            with contextlib.suppress(OSError):
                os.replace(hidden, path)
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(err, OSError):
            raise EdgekitError(f"cannot write {str(where)!r}: {err.strerror or err}; nothing was replaced") from None
        raise
    for hidden, _ in saved:
        with contextlib.suppress(OSError):
            os.unlink(hidden)


def _maybe_orphan(out: Path) -> bool:
    """A ``.tflite`` file with no sidecar: possibly a pair cut short, to be judged by its bytes once converted."""
    if os.path.lexists(sidecar_path(out)) or not out.is_file():
        return False
    try:
        with open(out, "rb") as fh:
            return fh.read(8)[4:8] == _TFLITE_ID
    except OSError:
        return False


def _same_bytes(path: Path, data: bytes, chunk: int = 1 << 20) -> bool:
    """Whether the regular file ``path`` holds exactly ``data``."""
    try:
        if not path.is_file() or path.stat().st_size != len(data):
            return False
        view = memoryview(data)
        with open(path, "rb") as fh:
            for start in range(0, len(data), chunk):
                if fh.read(chunk) != view[start:start + chunk]:
                    return False
        return True
    except OSError:
        return False
