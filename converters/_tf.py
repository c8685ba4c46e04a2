"""Import TensorFlow quietly, and keep its converter's prints off our stdout (``--json`` must stay clean)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def quiet_tf() -> Iterator:
    """Yield the tensorflow module with file descriptor 1 redirected to stderr.

    TF's converter prints "Saved artifact at ..." and a list of captures straight to stdout.
    """
    tf = tensorflow()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield tf
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
