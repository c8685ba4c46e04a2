"""Ctrl-C that is never lost.

Python raises KeyboardInterrupt in whatever Python code runs when SIGINT arrives. When that code is a weakref
callback, a ``__del__`` or a generator's cleanup, which the garbage collector runs by the thousand while
TensorFlow builds or frees a graph, the exception cannot propagate: Python reports it as "Exception ignored" and
carries on. So ``edgekit convert`` once went on to write its output after Ctrl-C.

Inside :func:`guard`, a Ctrl-C is recorded as well as raised. One that was swallowed that way is raised again, from
a helper thread, once the callback has returned; and :func:`check` raises it at the points where work must not go
on (each calibration sample, before anything is written), in case other code caught it.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

RESEND_S = 0.05  # a signal that lands just before the main thread blocks wakes nothing: send again until it lands


class _State:
    requested = False  # a Ctrl-C came during this guard
    owed = False  # a Ctrl-C was swallowed and not yet raised again
    resent = False  # the next SIGINT is a re-delivery, not the user's
    in_hook = False  # the main thread is reporting a swallowed exception: raising there would be swallowed too
    closing = False  # the guard is ending: a late re-delivery is ignored
    wake: threading.Event | None = None


def requested() -> bool:
    """Whether Ctrl-C was pressed inside the current :func:`guard`."""
    return _State.requested


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed inside the current guard, even if something swallowed it."""
    if _State.requested:
        raise KeyboardInterrupt


def _owe() -> None:
    _State.owed = True
    if _State.wake is not None:
        _State.wake.set()


def _on_sigint(signum, frame) -> None:
    _State.requested = True
    resent, _State.resent = _State.resent, False
    if _State.closing or (resent and not _State.owed):  # a re-delivery of a Ctrl-C that was raised meanwhile
        return
    hook = sys.unraisablehook  # wrap whatever reports swallowed exceptions now (edgekit.tf_log replaces it)
    if not getattr(hook, "_edgekit_interrupt", False):
        sys.unraisablehook = _watching(hook)
    if _State.in_hook:
        _owe()
        return
    _State.owed = False
    raise KeyboardInterrupt


def _watching(report):
    def hook(unraisable) -> None:
        _State.in_hook = True
        try:
            if issubclass(unraisable.exc_type, KeyboardInterrupt):
                _owe()
            report(unraisable)
        finally:
            _State.in_hook = False

    hook._edgekit_interrupt = True
    hook.wrapped = report
    return hook


def _deliver(wake: threading.Event, stop: threading.Event) -> None:
    main = threading.main_thread().ident
    while not stop.is_set():
        wake.wait()
        wake.clear()
        while _State.owed and not stop.is_set():
            _State.resent = True
            # a real signal, so that it also wakes a main thread blocked in a wait; it reaches _on_sigint there
            if hasattr(signal, "pthread_kill"):
                signal.pthread_kill(main, signal.SIGINT)
            else:
                _thread.interrupt_main(signal.SIGINT)
            stop.wait(RESEND_S)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Make Ctrl-C impossible to lose for the duration (main thread only; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    wake, stop = threading.Event(), threading.Event()
    helper = threading.Thread(target=_deliver, args=(wake, stop), name="edgekit-interrupt", daemon=True)
    _State.requested = _State.owed = _State.resent = _State.closing = False
    _State.wake = wake
    signal.signal(signal.SIGINT, _on_sigint)
    helper.start()
    try:
        yield
    finally:
        _State.closing = True
        stop.set()
        wake.set()
        helper.join()  # a re-delivery already on its way lands in _on_sigint now, which ignores it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if getattr(sys.unraisablehook, "_edgekit_interrupt", False):
            sys.unraisablehook = sys.unraisablehook.wrapped
        _State.requested = _State.owed = False
        _State.wake = None
