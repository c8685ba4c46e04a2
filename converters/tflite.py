"""The conversion itself: set TF's TFLiteConverter up for a mode and run it, calibrating on real inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from converters._tf import quiet_tf
from converters.calibration import Feed
from converters.source import FloatModel, Source
from edgekit import interrupt
from edgekit.errors import EdgekitError, first_line
from edgekit.quant_modes import QuantConfig, QuantMode


def make_converter(tf, src: Source, fm: FloatModel, config: QuantConfig,
                   dataset: Callable[[], Iterator[list[np.ndarray]]] | None):
    """A ``tf.lite.TFLiteConverter`` configured for ``config``, from the live float model (the debugger's path;
    :func:`to_tflite` converts from a SavedModel written once, which needs less memory)."""
    if fm.keras_model is not None:
        conv = _batch1_converter(tf, fm.keras_model)
    elif fm.fixed is not None:  # a SavedModel traced at --input-size
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fm.fixed[0]], fm.fixed[1])
    else:
        conv = tf.lite.TFLiteConverter.from_saved_model(str(src.path))
    return _configure(tf, conv, config, dataset)


def _configure(tf, conv, config: QuantConfig, dataset):
    mode = config.mode
    if mode is QuantMode.FP32:
        return conv
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is QuantMode.FP16:
        conv.target_spec.supported_types = [tf.float16]
    elif mode is QuantMode.INT8:
        conv.representative_dataset = dataset
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not config.float_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    elif mode is QuantMode.INT16X8:
        conv.representative_dataset = dataset
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    return conv


def _batch1_converter(tf, model):
    """Convert at a fixed batch of 1, as devices run. A dynamic batch leaves SHAPE/STRIDED_SLICE/PACK ops in
    front of every Flatten or Reshape, which the Edge TPU cannot run, so they would split its graph."""
    from edgekit.models._keras import keras

    inputs = [keras().Input(batch_shape=(1, *x.shape[1:]), dtype=x.dtype, name=x.name) for x in model.inputs]
    outputs = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    return tf.lite.TFLiteConverter.from_keras_model(keras().Model(inputs, outputs, name=model.name))


def export_batch1(model, folder: Path) -> None:
    """Write ``model`` at a fixed batch of 1 as a SavedModel, exactly as ``TFLiteConverter.from_keras_model``
    does internally (Keras 3: an ``ExportArchive`` whose ``serve`` endpoint calls the model with
    ``training=False``), so that converting the folder gives the same bytes. Writing it once lets the caller free
    the Keras model before the converter runs: ``from_keras_model`` keeps the live model and a second loaded copy
    of every weight for the whole conversion (issue 22, docs/memory.md: VGG-16 int8 peaked at 8.6 GB that way,
    sampled once a second; 7.1 GB this way, VmHWM)."""
    import functools

    from edgekit.models._keras import keras

    with quiet_tf() as tf:
        k = keras()
        inputs = [k.Input(batch_shape=(1, *x.shape[1:]), dtype=x.dtype, name=x.name) for x in model.inputs]
        outputs = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
        batch1 = k.Model(inputs, outputs, name=model.name)
        signature = [tf.TensorSpec(x.shape, dtype=x.dtype, name=x.name) for x in batch1.inputs]
        if len(signature) > 1:
            signature = [signature]
        archive = k.export.ExportArchive()  # not track(): that saves every variable a second time (issue 22)
        archive.add_endpoint("serve", functools.partial(batch1.__call__, training=False), signature)
        archive.write_out(str(folder), verbose=False)


def _saved_model_converter(tf, folder: Path, from_keras: bool):
    """The converter for the SavedModel ``folder`` (``converters.tf_private.saved_model_converter``)."""
    from converters.tf_private import saved_model_converter

    return saved_model_converter(tf, folder, from_keras)


def to_tflite(src: Source, saved_model: Path, config: QuantConfig, calibration: np.ndarray | None,
              progress: Callable[[int], None] | None = None, *, from_keras: bool = True, fixed=None) -> bytes:
    """Convert the SavedModel folder ``saved_model`` (see :func:`export_batch1`), or ``fixed``, a SavedModel's
    ``(concrete function, trackable)`` traced again at ``--input-size``; ``calibration`` is preprocessed model input
    (N, H, W, C) for calibrated modes."""
    feed = Feed(calibration, progress) if calibration is not None else None
    with quiet_tf() as tf:
        conv = (tf.lite.TFLiteConverter.from_concrete_functions([fixed[0]], fixed[1]) if fixed is not None
                else _saved_model_converter(tf, saved_model, from_keras))
        model = convert_or_explain(_configure(tf, conv, config, feed), src.describe(), config.tag)
    if feed is not None:
        feed.require_all()
    return model


def convert_or_explain(conv, what: str, tag: str) -> bytes:
    """``conv.convert()``, with its error as one line naming ``what`` was converted to ``tag``."""
    with quiet_tf():
        try:
            return conv.convert()
        except KeyboardInterrupt:
            raise
        except Exception as err:  # the converter raises many types; the first line says what broke
            interrupt.check()  # TF turns a Ctrl-C in the dataset into its own error
            first = first_line(err)
            raise EdgekitError(f"TensorFlow could not convert {what} to {tag}: {first}") from None
