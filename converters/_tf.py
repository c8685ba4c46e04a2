"""Import TensorFlow quietly, and keep its converter's prints off our stdout (``--json`` must stay clean)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from edgekit import tf_log
from edgekit.models._tf import tensorflow

__all__ = ["quiet_tf", "tensorflow"]


@contextlib.contextmanager
def quiet_tf() -> Iterator:
    """Yield the tensorflow module with file descriptor 1 and ``sys.stdout`` sent to fd 2.

    TF's converter prints "Saved artifact at ..." and a list of captures straight to stdout. Fd 2 is
    TensorFlow's log file when the command line asked for one (``edgekit.tf_log``), else stderr.
    """
    tf = tensorflow()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with tf_log.native_stderr() as native, contextlib.redirect_stdout(native):
            yield tf
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
