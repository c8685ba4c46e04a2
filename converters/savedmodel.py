"""SavedModel folders: convert to a float32 flatbuffer in memory (used to analyse them)."""

from __future__ import annotations

from pathlib import Path

from converters._tf import quiet_tf
from edgekit.errors import ModelFileError, UsageError, first_line


def savedmodel_to_tflite_bytes(path: str | Path, input_size: int | None = None) -> bytes:
    """Convert a SavedModel to float32 TFLite bytes, without writing anything.

    ``input_size`` sets an unknown input height and width (a ``(None, None, None, C)`` signature) on the
    converter: the serving signature is traced again at ``1 x N x N x C``.
    """
    with quiet_tf() as tf:
        try:
            if input_size is None:
                return tf.lite.TFLiteConverter.from_saved_model(str(path)).convert()
            loaded = tf.saved_model.load(str(path))
            run = fixed_signature(tf, loaded, input_size, repr(str(path)))
            return tf.lite.TFLiteConverter.from_concrete_functions([run], loaded).convert()
        except UsageError:
            raise
        except Exception as err:  # TF raises many types for a bad SavedModel
            first = first_line(err)
            raise ModelFileError(f"could not read SavedModel {str(path)!r}: {first}") from None


def fixed_signature(tf, loaded, input_size: int, label: str):
    """The serving signature traced again at ``1 x N x N x C``: a concrete function of one positional input."""
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    shapes = [tuple(s.shape) for s in specs.values()]
    if len(specs) != 1 or len(shapes[0]) != 4:
        raise UsageError(f"{label}: --input-size applies to models with one (N, H, W, C) image input; this one "
                         f"takes {shapes}")
    (key, spec), (_, h, w, c) = next(iter(specs.items())), shapes[0]
    if h is not None and w is not None and (h, w) != (input_size, input_size):
        raise UsageError(f"{label}: the input size is fixed at {h}x{w}; --input-size {input_size} cannot change "
                         "it (drop --input-size)")
    shape = [1, h or input_size, w or input_size, c]

    @tf.function(input_signature=[tf.TensorSpec(shape, spec.dtype)])
    def run(x):
        return fn(**{key: x})

    return run.get_concrete_function()
