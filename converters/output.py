"""Where results go: checked up front, written atomically (temporary file, then rename), never clobbered."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from edgekit.atomic import write_atomic
from edgekit.errors import EdgekitError
from edgekit.runtime.sidecar import sidecar_path

__all__ = ["check_output", "default_output", "sidecar_path", "write_atomic", "write_pair"]


def default_output(name: str, tag: str) -> Path:
    return Path.cwd() / f"{name}_{tag}.tflite"


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
