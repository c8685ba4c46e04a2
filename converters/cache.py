"""The conversion cache: ``$EDGEKIT_CACHE_DIR`` (default ``~/.edgekit/cache``)/convert/KEY/.

The key hashes everything that changes the output: the source's content hash, the mode and its options, the
calibration spec, the sample counts, the preprocessing and the TF and edgekit versions. Reading a hit needs
no TensorFlow. Entries are written model first, metadata last, so a half-written entry is never a hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from converters.output import write_atomic


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


def get(k: str) -> tuple[bytes, dict] | None:
    entry = cache_dir() / "convert" / k
    try:
        meta = json.loads((entry / "meta.json").read_text())
        return (entry / "model.tflite").read_bytes(), meta
    except (OSError, ValueError):
        return None


def put(k: str, model: bytes, meta: dict) -> None:
    """Store an entry; a cache that cannot be written is skipped, never fatal."""
    entry = cache_dir() / "convert" / k
    try:
        entry.mkdir(parents=True, exist_ok=True)
        write_atomic(entry / "model.tflite", model, force=True)
        write_atomic(entry / "meta.json", json.dumps(meta, default=str).encode(), force=True)
    except Exception:  # the cache is an optimisation
        pass
