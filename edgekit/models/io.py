"""Load a user's Keras model file (``.keras`` or ``.h5``), checking it is one before Keras sees it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from edgekit.errors import ModelFileError, first_line

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_keras_file(path: str | os.PathLike) -> Path:
    """Raise ModelFileError unless ``path`` is an existing, structurally sound ``.keras`` or ``.h5`` file."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {str(path)!r} not found; check the path")
    if path.suffix not in (".keras", ".h5"):
        raise ModelFileError(f"{str(path)!r} is not a Keras model file; expected .keras or .h5")
    if not path.is_file():
        raise ModelFileError(f"{str(path)!r} is not a file")
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise ModelFileError(f"{str(path)!r} is corrupt or truncated: not a valid .keras archive ({err})") from None
        if "config.json" not in names or bad is not None:
            raise ModelFileError(f"{str(path)!r} is corrupt: the .keras archive lacks a readable config.json")
    else:
        with open(path, "rb") as fh:
            if fh.read(8) != _HDF5_SIGNATURE:
                raise ModelFileError(f"{str(path)!r} is corrupt or truncated: not an HDF5 file")
    return path


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` or ``.h5`` model without compiling it. Corrupt files raise ModelFileError."""
    path = check_keras_file(path)
    from edgekit.models._keras import keras

    try:
        return keras().saving.load_model(str(path), compile=False)
    except Exception as err:  # Keras and h5py raise many types for a bad file
        first = first_line(err)
        raise ModelFileError(f"could not load {str(path)!r} as a Keras model: {first}") from None
