"""Regenerate the converter-made models the Edge TPU partition tests read: ``python tests/data/make_partition.py``.

- ``tiny_int8_floatio.tflite``: the tiny network of make_tiny.py, full int8 inside but float input and output,
  so the converter puts a QUANTIZE first and a DEQUANTIZE last (leading and trailing CPU ops).
- ``aspp_int8.tflite``: a DeepLab-style head, full int8: a 3x3 conv to 9x9x8, then an image-pooling branch
  (global average pool to 1x1, 1x1 conv, bilinear resize back to 9x9 with ``align_corners=True``, as DeepLab
  does) and a 1x1-conv branch, concatenated, projected by a 1x1 conv, and upsampled x2 (Keras UpSampling2D,
  bilinear, half-pixel centres).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _int8(tf, model, shape, float_io: bool = False) -> bytes:
    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, *shape)).astype(np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _aspp(keras, tf):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=(17, 17, 3), batch_size=1, name="image")
    feat = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="backbone")(inp)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name="image_pool")(feat)
    pooled = keras.layers.Conv2D(4, 1, activation="relu", name="pool_conv")(pooled)
    size = feat.shape[1:3]
    pooled = keras.layers.Lambda(
        lambda x: tf.compat.v1.image.resize_bilinear(x, size, align_corners=True), name="pool_resize")(pooled)
    branch = keras.layers.Conv2D(4, 1, activation="relu", name="aspp0")(feat)
    x = keras.layers.Concatenate(name="concat")([pooled, branch])
    x = keras.layers.Conv2D(3, 1, name="logits")(x)
    out = keras.layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(x)
    return keras.Model(inp, out)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from tests.data.make_tiny import _model

    (HERE / "tiny_int8_floatio.tflite").write_bytes(_int8(tf, _model(keras), (16, 16, 3), float_io=True))
    (HERE / "aspp_int8.tflite").write_bytes(_int8(tf, _aspp(keras, tf), (17, 17, 3)))


if __name__ == "__main__":
    main()
