"""Import TensorFlow and Keras on first use only, with their log lines sent where ``edgekit.tf_log`` says.

Every TensorFlow import in edgekit goes through here (``converters._tf`` too), so the log level is set and
fd 2 diverted before TensorFlow's C++ code first writes. Keras runs on whichever backend ``KERAS_BACKEND``
names, else the first installed of TensorFlow, JAX and PyTorch, so the zoo builds without TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os

from edgekit import tf_log

# Keras 3's own default first (the converter needs it), then the backends that build and run the zoo without it.
_BACKENDS = ("tensorflow", "jax", "torch")


def default_backend() -> str:
    """The first installed of TensorFlow, JAX and PyTorch (found without importing any); TensorFlow if none."""
    return next((name for name in _BACKENDS if importlib.util.find_spec(name) is not None), "tensorflow")


def tensorflow():
    """Return the ``tensorflow`` module, its Python logger at ERROR."""
    tf_log.before_import()
    import tensorflow as tf

    tf_log.after_import()
    tf.get_logger().setLevel("ERROR")
    return tf


def keras():
    """Return the ``keras`` module on ``KERAS_BACKEND`` (default: :func:`default_backend`)."""
    if "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = default_backend()
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        tensorflow()  # quietly, before Keras imports it
    import keras as _keras

    return _keras
