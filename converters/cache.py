"""The conversion cache: ``$EDGEKIT_CACHE_DIR`` (default ``~/.edgekit/cache``)/convert/KEY/.

The key hashes everything that changes the output: the source's content hash, the mode and its options, the
calibration spec, the sample counts, the preprocessing and the TF and edgekit versions. Reading a hit needs
no TensorFlow. Entries are written model first, metadata last, so a half-written entry is never a hit.

Each entry's ``meta.json`` records its model's sha256 and size and its own sha256, checked on every hit (issue
29). An entry that fails the check (its model missing, short or altered, its meta.json unreadable or altered, or
written before the check existed) is moved to ``quarantine/KEY-TIME`` beside ``convert/``, never deleted, with
one warning, and is a miss: the caller converts again and writes the entry anew. A cache folder that cannot be
used (a file where the folder should be, no permission, a read-only file system) is one warning per process, and
conversions go on without it. Warnings go to the caller's ``warn`` (``convert``'s notify), else to stderr as
``edgekit: warning: ...``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from converters.output import write_atomic
from edgekit.errors import EdgekitError

Warn = Callable[[str], None]  # one line for the user, without the "warning:" prefix
_SHA, _SIZE, _META = "model_sha256", "model_size", "meta_sha256"  # the entry's bookkeeping; get() leaves it out
_reported: set[str] = set()  # what this process has warned about already: each problem is one line per run


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_CACHE_DIR") or Path.home() / ".edgekit" / "cache").expanduser()


def key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def tf_version() -> str | None:
    """TensorFlow's version from its installed metadata, without importing it."""
    from importlib import metadata

    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def usable(warn: Warn | None = None) -> bool:
    """Whether entries can be read and written; if not, one warning per process says why."""
    return _root(warn) is not None


def get(k: str, warn: Warn | None = None) -> tuple[bytes, dict] | None:
    """The entry's model and metadata, checked against its recorded sha256 and size; None on a miss.

    A damaged entry is moved aside with one warning, and is a miss."""
    base = _root(warn)
    entry = base / k if base is not None else None
    if entry is None or not entry.exists() or (entry.is_dir() and not (entry / "meta.json").exists()):
        return None  # no entry, or one still being written (its model comes first, its meta.json last)
    model, meta, problem = _read(entry)
    if problem is None:
        return model, meta
    _quarantine(entry, problem, warn)
    return None


def put(k: str, model: bytes, meta: dict, warn: Warn | None = None) -> None:
    """Store an entry with its model's sha256 and size; a cache that cannot be written is one warning, never
    fatal."""
    base = _root(warn)
    if base is None:
        return
    entry = base / k
    meta = json.loads(json.dumps(meta, default=str))  # as it will read back
    doc = {**meta, _SHA: hashlib.sha256(model).hexdigest(), _SIZE: len(model), _META: _digest(meta)}
    try:
        entry.mkdir(exist_ok=True)
        (entry / "meta.json").unlink(missing_ok=True)  # meanwhile a reader finds no entry, not new bytes, old sum
        write_atomic(entry / "model.tflite", model, force=True)
        write_atomic(entry / "meta.json", json.dumps(doc, default=str).encode(), force=True)
    except (OSError, EdgekitError) as err:
        _once(f"write:{base}", f"the conversion cache entry {entry} could not be written ({_why(err)}); the next "
              "run converts again", warn)


def _read(entry: Path) -> tuple[bytes, dict, str | None]:
    """(model, meta, None) for a sound entry, else (b"", {}, what is wrong with it)."""
    try:
        doc = json.loads((entry / "meta.json").read_text())
    except (OSError, ValueError) as err:
        return b"", {}, f"meta.json cannot be read: {_why(err)}"
    if not isinstance(doc, dict) or not isinstance(doc.get("sidecar"), dict):
        return b"", {}, "meta.json holds no sidecar"
    if not all(isinstance(doc.get(k), t) for k, t in ((_SHA, str), (_SIZE, int), (_META, str))):
        return b"", {}, "meta.json records no checksum (written by an older edgekit)"
    meta = {k: v for k, v in doc.items() if k not in (_SHA, _SIZE, _META)}
    if _digest(meta) != doc[_META]:
        return b"", {}, "meta.json's sha256 differs from the one stored"
    try:
        model = (entry / "model.tflite").read_bytes()
    except OSError as err:
        return b"", {}, f"model.tflite cannot be read: {_why(err)}"
    if len(model) != doc[_SIZE]:
        return b"", {}, f"model.tflite is {len(model):,} bytes, {doc[_SIZE]:,} when stored"
    if hashlib.sha256(model).hexdigest() != doc[_SHA]:
        return b"", {}, "model.tflite's sha256 differs from the one stored"
    return model, meta, None


def _quarantine(entry: Path, problem: str, warn: Warn | None) -> None:
    """Move a damaged entry to ``quarantine/KEY-TIME`` (kept, never deleted) and say so once."""
    folder = entry.parent.parent / "quarantine"
    dest = folder / f"{entry.name}-{time.strftime('%Y%m%dT%H%M%S')}"
    n = 1
    while dest.exists() or dest.is_symlink():
        n += 1
        dest = folder / f"{entry.name}-{time.strftime('%Y%m%dT%H%M%S')}-{n}"
    try:
        folder.mkdir(exist_ok=True)
        entry.rename(dest)
    except FileNotFoundError:
        return  # another process moved it first, and said so
    except OSError as err:
        _once(f"entry:{entry}", f"conversion cache entry {entry} is damaged ({problem}) and could not be moved "
              f"aside ({_why(err)}); converting again", warn)
        return
    _once(f"moved:{dest}", f"conversion cache entry {entry.name} is damaged ({problem}): moved to {dest}; "
          "converting again", warn)


def _root(warn: Warn | None) -> Path | None:
    """``cache_dir()/convert``, made if need be; None, with one warning per process, when it cannot be used."""
    base = cache_dir() / "convert"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if not os.access(base, os.R_OK | os.W_OK | os.X_OK):
            raise PermissionError(13, "it cannot be both read and written")
    except OSError as err:
        blocked = next((p for p in (cache_dir(), base) if p.exists() and not p.is_dir()), None)
        why = f"{blocked} is a file, not a folder" if blocked else f"{base}: {_why(err)}"
        _once(f"root:{base}", f"the conversion cache cannot be used ({why}); converting without it (set "
              "EDGEKIT_CACHE_DIR to use another folder)", warn)
        return None
    return base


def _digest(meta: dict) -> str:
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


def _why(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return str(err)


def _once(topic: str, message: str, warn: Warn | None) -> None:
    if topic in _reported:
        return
    _reported.add(topic)
    if warn is not None:
        warn(message)
    else:
        print(f"edgekit: warning: {message}", file=sys.stderr, flush=True)
