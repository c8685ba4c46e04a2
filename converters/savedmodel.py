"""SavedModel folders: convert to a float32 flatbuffer in memory (used to analyse them)."""

from __future__ import annotations

from pathlib import Path

from converters._tf import quiet_tf
from edgekit.errors import ModelFileError, first_line


def savedmodel_to_tflite_bytes(path: str | Path) -> bytes:
    """Convert a SavedModel to float32 TFLite bytes, without writing anything."""
    with quiet_tf() as tf:
        try:
            return tf.lite.TFLiteConverter.from_saved_model(str(path)).convert()
        except Exception as err:  # TF raises many types for a bad SavedModel
            first = first_line(err)
            raise ModelFileError(f"could not read SavedModel {str(path)!r}: {first}") from None
