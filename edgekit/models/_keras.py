"""Import TensorFlow and Keras on first use only, with their log lines sent where ``edgekit.tf_log`` says.

Every TensorFlow import in edgekit goes through here (``converters._tf`` too), so the log level is set and
fd 2 diverted before TensorFlow's C++ code first writes.
"""

from __future__ import annotations

from edgekit import tf_log


def tensorflow():
    """Return the ``tensorflow`` module, its Python logger at ERROR."""
    tf_log.before_import()
    import tensorflow as tf

    tf_log.after_import()
    tf.get_logger().setLevel("ERROR")
    return tf


def keras():
    """Return the ``keras`` module (TensorFlow backend)."""
    tensorflow()
    import keras as _keras

    return _keras
