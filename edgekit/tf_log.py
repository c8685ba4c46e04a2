"""TensorFlow's log lines go to a file, not the terminal.

TensorFlow, absl and the TFLite converter write from C++ straight to file descriptor 2: oneDNN's notice,
``cpu_feature_guard``, "All log messages before absl::InitializeLog() is called...", the converter's
``fully_quantize`` line, XNNPACK's "Created delegate". Some of it comes while ``import tensorflow`` runs, before
any Python setting can reach it, and ``TF_CPP_MIN_LOG_LEVEL`` only counts if it is set before that import.

So the command line calls :func:`send_to_log` once at start, and the one place that imports TensorFlow
(``edgekit.models._keras``) calls :func:`before_import` and :func:`after_import` around it. From the first
import on, fd 2 is the log file, while Python's ``sys.stderr`` (edgekit's messages, progress bars,
tracebacks) keeps writing to the terminal through a duplicate of the original descriptor. TensorFlow's and
absl's Python loggers, and warnings raised from TensorFlow/Keras code, go to the same file. Code used as a
library (a notebook, pytest) never calls :func:`send_to_log`, and its stderr is left alone.

The file is ``$EDGEKIT_TF_LOG``, by default ``~/.edgekit/logs/tensorflow.log``; each run appends under a
header line, and the file starts over past 5 MB (the old one is kept as ``tensorflow.log.1``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

MAX_BYTES = 5 * 2**20
_TF_SOURCES = ("tensorflow", "keras", "absl", "tf_keras", "ml_dtypes", "tensorboard")


class _State:
    wanted: Path | None = None  # set by send_to_log
    active: Path | None = None  # the log fd 2 points at, once diverted
    start: int = 0  # its size just after this run's header
    header: str = ""
    routed: bool = False  # TensorFlow's and absl's Python loggers write to the log


def default_log_path() -> Path:
    return Path(os.environ.get("EDGEKIT_TF_LOG") or Path.home() / ".edgekit" / "logs" / "tensorflow.log")


def send_to_log(path: Path | None = None, *, header: str = "") -> None:
    """Ask that TensorFlow's output go to ``path`` (default :func:`default_log_path`) once it is imported.

    If TensorFlow is already imported, divert now. ``header`` names the run in the log.
    """
    _State.wanted = Path(path or default_log_path()).expanduser()
    _State.header = header
    if "tensorflow" in sys.modules:
        _divert()
        after_import()


def before_import() -> None:
    """Call right before importing TensorFlow or Keras: set the log level and divert fd 2 if asked."""
    # With a log file, warnings go there (INFO off); without one, TensorFlow stays silent but for fatal errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if _State.wanted is not None else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if _State.wanted is not None and _State.active is None:
        _divert()


def after_import() -> None:
    """Call right after the import: TensorFlow's and absl's Python loggers write to the log file too."""
    if _State.active is None or _State.routed:
        return
    _State.routed = True
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "get_logger"):
        tf.get_logger()  # TF adds its stderr handler on the first call: make that call now, then replace it
    handler = logging.FileHandler(_State.active, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("tensorflow", "absl", "keras"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False


def log_written() -> Path | None:
    """The log file, if TensorFlow wrote anything to it during this run; else None."""
    path = _State.active
    try:
        return path if path is not None and path.stat().st_size > _State.start else None
    except OSError:
        return None


def _is_real_stderr() -> bool:
    """True when ``sys.stderr`` writes to fd 2 (not when a test harness has replaced it)."""
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def _divert() -> None:
    path = _State.wanted
    if path is None or _State.active is not None or not _is_real_stderr():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_BYTES:
            path.replace(path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return  # no writable log: leave the terminal as it is rather than fail the command
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # the header holds argv, which may name a file that is not UTF-8 (Python keeps its bytes as surrogates)
    os.write(fd, f"=== {stamp} pid {os.getpid()} {_State.header}\n".encode("utf-8", "backslashreplace"))
    _State.start = os.fstat(fd).st_size
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.dup(2)
    os.dup2(fd, 2)
    os.close(fd)
    old = sys.stderr
    sys.stderr = open(terminal, "w", buffering=1, encoding=getattr(old, "encoding", None) or "utf-8",
                      errors="backslashreplace")
    _State.active = path
    _route_warnings()
    _route_unraisable()


def _route_unraisable() -> None:
    """Exceptions Python can only report, not raise, go to the log once TensorFlow's output does.

    TensorFlow's graph-building generators, collected when a conversion is interrupted or at exit, raise in
    their cleanup ("Exception ignored in: <generator object _func_graph_as_default_inner_cm ...>"); through the
    default hook that reached the terminal as a traceback after edgekit's one-line error.
    """

    def hook(unraisable) -> None:
        import traceback

        text = "".join(traceback.format_exception(unraisable.exc_type, unraisable.exc_value,
                                                  unraisable.exc_traceback))
        with open(2, "w", closefd=False, encoding="utf-8", errors="backslashreplace") as log:
            log.write(f"Exception ignored in: {unraisable.object!r}\n{text}")

    sys.unraisablehook = hook


def _route_warnings() -> None:
    """Warnings raised from TensorFlow/Keras code go to the log; edgekit's and others' keep their place."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        parts = Path(str(filename)).parts
        if file is None and any(p in _TF_SOURCES for p in parts):
            with open(2, "w", closefd=False, encoding="utf-8", errors="backslashreplace") as log:
                log.write(warnings.formatwarning(message, category, filename, lineno, line))
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def native_stderr():
    """A text stream on fd 2 (the log file once diverted), for TensorFlow's own prints to stdout."""
    return open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="backslashreplace")


@contextlib.contextmanager
def quiet_fds(log: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 to ``log`` (TensorFlow prints captures and warnings from C++ and Python)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as f:
        try:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
