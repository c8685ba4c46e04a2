"""Make the ``.tflite`` files behind ``targets/data/calibration_models.json`` (needs TensorFlow; run once).

Each published row of ``targets/data/published_rows.json`` names a model; this builds it with random weights
(as XNNPACK's end2end-bench and a latency table need no trained weights), converts it at batch 1 and
writes ``OUT/NAME.tflite``; ``python -m targets.fit --summarise NAME OUT/NAME.tflite ...`` stores the
per-op summary. int8 is full-integer (int8 in and out, per-channel weights) calibrated on 4 random inputs;
only the op mix and the tensor sizes matter here, not the ranges.

    python scripts/calibration_models.py OUT [NAME ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# name: (keras.applications builder, input size, kwargs). MobileNet v3 without the built-in rescaling layer.
MODELS = {
    "mobilenet_v2": ("MobileNetV2", 224, {}),
    "mobilenet_v3_large": ("MobileNetV3Large", 224, {"include_preprocessing": False}),
    "mobilenet_v3_small": ("MobileNetV3Small", 224, {"include_preprocessing": False}),
    "resnet50_299": ("ResNet50", 299, {}),
    "resnet50v2_299": ("ResNet50V2", 299, {}),
    "resnet152v2_299": ("ResNet152V2", 299, {}),
    "inception_resnet_v2_299": ("InceptionResNetV2", 299, {}),
    "vgg19": ("VGG19", 224, {}),
    "densenet121": ("DenseNet121", 224, {}),
}
QUANTS = {"mobilenet_v2": ("fp32", "int8"), "mobilenet_v3_large": ("fp32",), "mobilenet_v3_small": ("fp32",)}


def convert(name: str, quant: str) -> bytes:
    import keras
    import tensorflow as tf

    builder, size, kwargs = MODELS[name]
    model = getattr(keras.applications, builder)(weights=None, input_shape=(size, size, 3), **kwargs)
    inp = keras.Input(batch_shape=(1, size, size, 3))
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, model(inp)))
    if quant == "int8":
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, size, size, 3)).astype("float32")]
                                               for _ in range(4))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    data = conv.convert()
    keras.backend.clear_session()
    return data


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:] or MODELS:
        for quant in QUANTS.get(name, ("int8",)):
            path = out / f"{name}_{quant}.tflite"
            if not path.exists():
                path.write_bytes(convert(name, quant))
            print(path, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
