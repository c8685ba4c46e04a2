"""Import TensorFlow on first use only, with its log lines sent where ``edgekit.tf_log`` says.

Every explicit TensorFlow import in edgekit goes through here (``converters._tf`` and ``datasets`` too), so the
log level is set and fd 2 diverted before TensorFlow's C++ code first writes. The zoo's build path
(``edgekit.models._keras``) never imports this module: Keras builds the zoo on JAX or PyTorch as well.
"""

from __future__ import annotations

from edgekit import tf_log
from edgekit.errors import import_extra, require_extra

NEEDED_FOR = "converting models with TensorFlow"


def tensorflow():
    """Return the ``tensorflow`` module, its Python logger at ERROR."""
    require_extra("tensorflow", needed_for=NEEDED_FOR)  # before fd 2 is diverted
    tf_log.before_import()
    tf = import_extra("tensorflow", needed_for=NEEDED_FOR)

    tf_log.after_import()
    tf.get_logger().setLevel("ERROR")
    return tf
