"""Import Keras on first use only, on whichever backend ``KERAS_BACKEND`` names, else the first installed of
TensorFlow, JAX and PyTorch, so the zoo builds without TensorFlow. When the backend is TensorFlow, its log
lines go where ``edgekit.tf_log`` says, as for every TensorFlow import (``edgekit.models._tf``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from edgekit import tf_log
from edgekit.errors import import_extra, require_extra

# Keras 3's own default first (the converter needs it), then the backends that build and run the zoo without it.
_BACKENDS = ("tensorflow", "jax", "torch")
NEEDED_FOR = "building, loading or training Keras models"


def default_backend() -> str:
    """The first installed of TensorFlow, JAX and PyTorch (found without importing any); TensorFlow if none."""
    return next((name for name in _BACKENDS if importlib.util.find_spec(name) is not None), "tensorflow")


def keras():
    """Return the ``keras`` module on ``KERAS_BACKEND`` (default: :func:`default_backend`)."""
    if "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = default_backend()
    require_extra("keras", needed_for=NEEDED_FOR)  # before diverting fd 2: the one-line error reaches the terminal
    quiet = os.environ["KERAS_BACKEND"] == "tensorflow" and "keras" not in sys.modules
    if quiet:  # Keras imports TensorFlow itself: divert its log lines first
        tf_log.before_import()
    _keras = import_extra("keras", needed_for=NEEDED_FOR)  # its backend may be the missing part

    if quiet:
        tf_log.after_import()
        logging.getLogger("tensorflow").setLevel(logging.ERROR)  # what tf.get_logger() returns
    return _keras
