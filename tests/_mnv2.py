"""MobileNetV2 (224x224, random weights) as fp32 and int8 .tflite files, for the benchmark tests.

Through ``converters.convert`` when it exists (the converter cache); otherwise made here with TF's converter
and cached under ~/.cache/edgekit-tests, keyed by TensorFlow's version, so a session converts once.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(os.environ.get("EDGEKIT_TEST_CACHE", Path.home() / ".cache" / "edgekit-tests"))


def mobilenetv2(mode: str) -> Path:
    try:
        import converters.convert  # noqa: F401
    except ImportError:
        return _fallback(mode)
    from edgekit.app.sources import convert_zoo

    return convert_zoo("mobilenetv2", mode)


def _fallback(mode: str) -> Path:
    from importlib import metadata

    out = CACHE / f"mobilenetv2_{mode}_tf{metadata.version('tensorflow-cpu')}.tflite"
    if out.is_file():
        return out
    import numpy as np

    from converters._tf import quiet_tf
    from edgekit.models import build

    with quiet_tf() as tf:
        conv = tf.lite.TFLiteConverter.from_keras_model(build("mobilenetv2"))
        if mode == "int8":
            rng = np.random.default_rng(0)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)]
                                                   for _ in range(8))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        data = conv.convert()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


if __name__ == "__main__":
    for m in ("fp32", "int8"):
        print(mobilenetv2(m))
