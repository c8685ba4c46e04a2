"""Regenerate the pair the int8-vs-fp32 explanation tests read: ``python tests/data/make_int8_split.py``.

``split_fp32.tflite`` and ``split_int8.tflite`` (full int8, int8 input and output): a 3x3 conv, a softmax over
channels in the middle of the network, another 3x3 conv, a global average pool and a dense layer. XNNPACK takes
the whole fp32 graph as one delegate node; its int8 path leaves SOFTMAX on the builtin kernels (ai-edge-litert
2.3), so the int8 graph runs as two delegate nodes with a builtin op between them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Softmax(axis=-1)(x)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    (HERE / "split_fp32.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    (HERE / "split_int8.tflite").write_bytes(conv.convert())


if __name__ == "__main__":
    main()
