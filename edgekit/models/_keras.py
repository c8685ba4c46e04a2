"""Import Keras quietly, on first use only."""

from __future__ import annotations

import importlib.util
import os

# Keras 3's own default first (the converter needs it), then the backends that build and run the zoo without it.
_BACKENDS = ("tensorflow", "jax", "torch")


def default_backend() -> str:
    """The first installed of TensorFlow, JAX and PyTorch (found without importing any); TensorFlow if none."""
    return next((name for name in _BACKENDS if importlib.util.find_spec(name) is not None), "tensorflow")


def keras():
    """Return the ``keras`` module, with TensorFlow's start-up chatter turned down.

    ``KERAS_BACKEND`` wins when set; otherwise ``default_backend()``, so the zoo builds on a machine with JAX
    or PyTorch and no TensorFlow.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = default_backend()
    import keras as _keras

    return _keras
