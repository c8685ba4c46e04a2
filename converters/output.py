"""Where results go: checked up front, written atomically (temporary file, then rename), never clobbered."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError


def default_output(name: str, tag: str) -> Path:
    return Path.cwd() / f"{name}_{tag}.tflite"


def sidecar_path(out: Path) -> Path:
    return Path(f"{out}.json")


def check_output(out: Path, force: bool) -> Path:
    """Refuse, before any work, an output that exists (without ``force``) or a folder we cannot write."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise EdgekitError(f"output {str(out)!r} is a folder; pass a file name ending in .tflite")
    for path in (out, sidecar_path(out)):
        if path.exists() and not force:
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, force: bool) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder; nothing partial is ever left."""
    if path.exists() and not force:
        raise EdgekitError(f"{str(path)!r} already exists; pass --force to replace it")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise EdgekitError(f"cannot write {str(path)!r}: {err.strerror}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_pair(out: Path, model: bytes, sidecar: dict, force: bool) -> None:
    """The model and its sidecar; if the sidecar cannot be written the model is removed again."""
    existed = out.exists()
    write_atomic(out, model, force)
    try:
        write_atomic(sidecar_path(out), (json.dumps(sidecar, indent=2, default=str) + "\n").encode(), force)
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                out.unlink()
        raise
