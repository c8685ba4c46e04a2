"""Regenerate the tiny ``.tflite`` files the fast test tier uses: ``python tests/data/make_tiny.py``.

A 16x16x3 -> conv -> depthwise -> pool -> dense(10) -> softmax network, in float32 and with int8, uint8 and
int16 (16x8) input and output; plus one with a dynamic input shape, which cannot be benchmarked. And three
for the MAC rules of less common ops, as TF's converter writes them: ``ops_conv3d`` (CONV_3D then
CONV_3D_TRANSPOSE), ``ops_matmul`` (BATCH_MATMUL of two inputs) and ``ops_lstm`` (a Keras 3 LSTM: a WHILE loop).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _model(keras, shape=(16, 16, 3)):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=shape, batch_size=1 if None not in shape else None, name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="depthwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    out = keras.layers.Dense(10, activation="softmax", name="logits")(x)
    return keras.Model(inp, out)


def _convert(tf, model, io_type=None, int16=False) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if io_type is not None:
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)]
                                               for _ in range(32))
        conv.target_spec.supported_ops = (
            [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8] if int16
            else [tf.lite.OpsSet.TFLITE_BUILTINS_INT8])
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type
    return conv.convert()


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    model = _model(keras)
    for name, kwargs in (("fp32", {}), ("int8", {"io_type": tf.int8}), ("uint8", {"io_type": tf.uint8}),
                         ("int16", {"io_type": tf.int16, "int16": True})):
        (HERE / f"tiny_{name}.tflite").write_bytes(_convert(tf, model, **kwargs))
    (HERE / "tiny_dynamic.tflite").write_bytes(_convert(tf, _model(keras, (None, None, 3))))
    for name, model in _op_models(keras).items():
        (HERE / f"ops_{name}.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def _op_models(keras) -> dict:
    L = keras.layers
    keras.utils.set_random_seed(0)
    x = keras.Input((4, 6, 6, 2), batch_size=1)
    conv3d = keras.Model(x, L.Conv3DTranspose(3, 2, strides=2)(L.Conv3D(4, 3)(x)))
    a, b = keras.Input((3, 5), batch_size=2), keras.Input((5, 7), batch_size=2)
    matmul = keras.Model([a, b], keras.ops.matmul(a, b))
    x = keras.Input((5, 3), batch_size=1)
    lstm = keras.Model(x, L.LSTM(4, return_sequences=True)(x))
    return {"conv3d": conv3d, "matmul": matmul, "lstm": lstm}


if __name__ == "__main__":
    main()
