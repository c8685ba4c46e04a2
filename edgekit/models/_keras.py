"""Import Keras quietly, on first use only."""

from __future__ import annotations

import os


def keras():
    """Return the ``keras`` module, with TensorFlow's start-up chatter turned down."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras as _keras

    return _keras
