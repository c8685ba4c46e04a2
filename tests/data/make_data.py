"""Regenerate the small .tflite files under tests/data (needs TensorFlow): python tests/data/make_data.py

They let the fast test tier check the flatbuffer parser and MAC counts without TensorFlow installed.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent


def main() -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    L = keras.layers

    def save(name: str, inputs, outputs, int8: bool = False) -> None:
        model = keras.Model(inputs, outputs, name=name)
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if int8:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            shape = (1, *model.inputs[0].shape[1:])
            conv.representative_dataset = lambda: ([np.random.rand(*shape).astype("float32")] for _ in range(8))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        (HERE / f"{name}.tflite").write_bytes(conv.convert())

    # The seed's worked example: 6x6x3 input, 3x3 kernels, valid padding, 5 filters.
    x = keras.Input((6, 6, 3), batch_size=1)
    save("seed_standard", x, L.Conv2D(5, 3, use_bias=False)(x))
    x = keras.Input((6, 6, 3), batch_size=1)
    save("seed_separable", x, L.SeparableConv2D(5, 3, use_bias=False)(x))
    # Every MAC op kind: grouped conv, depthwise, transposed conv, dense; int8.
    x = keras.Input((8, 8, 4), batch_size=1)
    y = L.Conv2D(8, 3, padding="same", groups=2, activation="relu")(x)
    y = L.DepthwiseConv2D(3, strides=2, padding="same")(y)
    y = L.Conv2DTranspose(4, 3, strides=2, padding="same")(y)
    y = L.Dense(6)(L.Flatten()(y))
    save("mixed_ops", x, y)
    x = keras.Input((16, 16, 3), batch_size=1)
    y = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    y = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(y))
    save("conv_head_int8", x, y, int8=True)


if __name__ == "__main__":
    main()
