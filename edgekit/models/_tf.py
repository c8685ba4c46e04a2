"""Import TensorFlow on first use only, with its log lines sent where ``edgekit.tf_log`` says.

Every explicit TensorFlow import in edgekit goes through here (``converters._tf`` and ``datasets`` too), so the
log level is set and fd 2 diverted before TensorFlow's C++ code first writes. The zoo's build path
(``edgekit.models._keras``) never imports this module: Keras builds the zoo on JAX or PyTorch as well.
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
