"""A child for tests/test_child_process.py: ``python -m tests._child_fixture``, served by
``edgekit.child_process``; the request's ``do`` says what it does."""

from __future__ import annotations

import os
import signal
import sys
import time

from edgekit.child_process import serve
from edgekit.errors import EdgekitError, UsageError


class OddError(EdgekitError):
    """A type the parent does not name."""


def _handle(request: dict, progress) -> dict:
    do = request["do"]
    if do == "echo":
        print("noise on stdout, as TensorFlow prints")
        return {"echo": request}
    if do == "progress":
        for n in (1, 2, 3):
            progress(n)
        return {}
    if do == "usage":
        raise UsageError("bad --thing 7; choose from 1, 2")
    if do == "odd":
        raise OddError("an odd one")
    if do == "exit":
        print("the last line it printed", file=sys.stderr, flush=True)
        os._exit(3)
    if do in ("kill", "term"):
        os.kill(os.getpid(), signal.SIGKILL if do == "kill" else signal.SIGTERM)
        time.sleep(30)
    if do == "ctrl-c":
        raise KeyboardInterrupt
    if do == "sleep":
        time.sleep(30)
    raise AssertionError(do)


if __name__ == "__main__":
    sys.exit(serve(_handle))
