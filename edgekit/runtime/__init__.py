"""The on-device loader: runs a converted ``.tflite`` with numpy plus ai-edge-litert or tflite-runtime.

Nothing here imports TensorFlow unless it is the only runtime installed (``backend="tensorflow"`` or the
last resort of ``auto``).

    >>> from edgekit.runtime import load
    >>> model = load("mobilenetv2_int8.tflite", threads=2)
    >>> model.classify(image)          # float pixels in, (label, score) pairs out
"""

from edgekit.runtime.backends import BACKEND_NAMES, Backend, BackendName, get_backend
from edgekit.runtime.model import EdgeModel, Prediction, load
from edgekit.runtime.quant import dequantize, quantize
from edgekit.runtime.sidecar import Sidecar, read_sidecar

__all__ = ["BACKEND_NAMES", "Backend", "BackendName", "EdgeModel", "Prediction", "Sidecar", "dequantize",
           "get_backend", "load", "quantize", "read_sidecar"]
