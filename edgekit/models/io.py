"""Load a user's Keras model file (``.keras`` or ``.h5``), checking it is one before Keras sees it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from edgekit.errors import ModelFileError, UsageError, first_line

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


def with_input_size(model, input_size: int | None, *, label: str):
    """``model`` with its unknown input height and width set to ``input_size`` (the graph is rebuilt).

    A model saved with a ``(None, None, C)`` input (``keras.applications.MobileNetV3Small(weights=None)``)
    has no size to count or convert at: the graph is cloned on a fixed ``Input`` and the weights copied over.
    A model whose size is known is returned as it is; ``input_size`` must then match it or be None.

    Raises:
        UsageError: the size is unknown and ``input_size`` is None, or ``input_size`` contradicts a fixed size.
    """
    shape = tuple(model.inputs[0].shape) if len(getattr(model, "inputs", None) or ()) == 1 else ()
    if len(shape) != 4:  # not a single image input: leave it to the caller's own checks
        if input_size is not None:
            raise UsageError(f"{label}: --input-size applies to models with one (H, W, C) image input; this one "
                             f"takes {[tuple(i.shape) for i in model.inputs]}")
        return model
    _, h, w, c = shape
    if h is not None and w is not None:
        if input_size is not None and (h, w) != (input_size, input_size):
            raise UsageError(f"{label}: the input size is fixed at {h}x{w} in the file; --input-size {input_size} "
                             "cannot change it (drop --input-size)")
        return model
    if input_size is None:
        raise UsageError(f"{label}: the input size is unknown ({h} x {w}); pass --input-size N "
                         "(e.g. --input-size 224) to count or convert it at NxN")
    if c is None:
        raise UsageError(f"{label}: the input's channel count is unknown too; save the model with a known "
                         "number of channels")
    from edgekit.models._keras import keras

    k = keras()
    fixed = k.Input((h or input_size, w or input_size, c), batch_size=shape[0], dtype=model.inputs[0].dtype)
    try:
        clone = k.models.clone_model(model, input_tensors=fixed)
        clone.set_weights(model.get_weights())
    except Exception as err:  # Keras raises many types for a graph it cannot rebuild
        raise UsageError(f"{label}: could not rebuild the model at {input_size}x{input_size}: "
                         f"{first_line(err)}") from None
    return clone
