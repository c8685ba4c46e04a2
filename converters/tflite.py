"""The conversion itself: set TF's TFLiteConverter up for a mode and run it, calibrating on real inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from converters._tf import quiet_tf
from converters.calibration import Feed
from converters.source import FloatModel, Source
from edgekit import interrupt
from edgekit.errors import EdgekitError, first_line
from edgekit.quant_modes import QuantConfig, QuantMode


def make_converter(tf, src: Source, fm: FloatModel, config: QuantConfig,
                   dataset: Callable[[], Iterator[list[np.ndarray]]] | None):
    """A ``tf.lite.TFLiteConverter`` configured for ``config``."""
    if fm.keras_model is not None:
        conv = _batch1_converter(tf, fm.keras_model)
    else:
        conv = tf.lite.TFLiteConverter.from_saved_model(str(src.path))
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


def to_tflite(src: Source, fm: FloatModel, config: QuantConfig, calibration: np.ndarray | None,
              progress: Callable[[int], None] | None = None) -> bytes:
    """Convert; ``calibration`` is preprocessed model input (N, H, W, C) for calibrated modes."""
    feed = Feed(calibration, progress) if calibration is not None else None
    with quiet_tf() as tf:
        conv = make_converter(tf, src, fm, config, feed)
        try:
            model = conv.convert()
        except KeyboardInterrupt:
            raise
        except Exception as err:  # the converter raises many types; the first line says what broke
            interrupt.check()  # TF turns a Ctrl-C in the dataset into its own error
            first = first_line(err)
            raise EdgekitError(f"TensorFlow could not convert {src.describe()} to {config.tag}: {first}") from None
    if feed is not None:
        feed.require_all()
    return model
