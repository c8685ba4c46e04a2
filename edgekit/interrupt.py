"""Ctrl-C that is never lost.

Python raises KeyboardInterrupt in whatever Python code runs when SIGINT arrives. When that code is a weakref
callback, a ``__del__`` or a generator's cleanup, which the garbage collector runs by the thousand while
TensorFlow builds or frees a graph, the exception cannot propagate: Python reports it as "Exception ignored" and
carries on. So ``edgekit convert`` once went on to write its output after Ctrl-C.

Inside :func:`guard`, a Ctrl-C is recorded as well as raised. One that was swallowed that way is raised again, from
a helper thread, once the callback has returned; and :func:`check` raises it at the points where work must not go
on (each calibration sample, before anything is written), in case other code caught it.

SIGTERM and SIGHUP are Ctrl-C too inside :func:`guard`: each raises :class:`Terminated`, a KeyboardInterrupt, so
every ``except KeyboardInterrupt`` and ``finally`` that keeps results and removes temporary folders runs for them
as well. They reach edgekit's PID alone, not its process group as a terminal's Ctrl-C does, so they are passed on
to edgekit's children (``edgekit.children``). :func:`how` says which it was: the word for the one-line message
and the exit code (130 for SIGINT, 128 + the signal's number for the others).
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import NamedTuple

from edgekit import children

RESEND_S = 0.05  # a signal that lands just before the main thread blocks wakes nothing: send again until it lands
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class Stop(NamedTuple):
    """How a run was stopped: the word its one-line message starts with, and its exit code."""

    word: str
    exit_code: int


class _State:
    requested = False  # a Ctrl-C came during this guard
    owed = False  # a Ctrl-C was swallowed and not yet raised again
    resent = False  # the next signal is a re-delivery, not the user's
    in_hook = False  # the main thread is reporting a swallowed exception: raising there would be swallowed too
    closing = False  # the guard is ending: a late re-delivery is ignored
    signum: int | None = None  # the first signal that stopped this guard
    wake: threading.Event | None = None


def requested() -> bool:
    """Whether Ctrl-C was pressed (or SIGTERM or SIGHUP came) inside the current :func:`guard`."""
    return _State.requested


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed inside the current guard, even if something swallowed it
    (:class:`Terminated` for SIGTERM or SIGHUP)."""
    if _State.requested:
        raise _exception()


def how(exc: BaseException | None = None) -> Stop:
    """What stopped the run: ``exc`` if it is :class:`Terminated`, else the first signal in the current guard."""
    signum = exc.signum if isinstance(exc, Terminated) else _State.signum
    if signum in TERMINATING:
        return Stop(f"terminated ({signal.Signals(signum).name})", 128 + signum)
    return Stop("interrupted", 130)


def _exception() -> KeyboardInterrupt:
    return Terminated(_State.signum) if _State.signum in TERMINATING else KeyboardInterrupt()


def _owe() -> None:
    _State.owed = True
    if _State.wake is not None:
        _State.wake.set()


def _on_signal(signum, frame) -> None:
    _State.requested = True
    resent, _State.resent = _State.resent, False
    if not resent:
        _State.signum = _State.signum or signum
        if signum != signal.SIGINT:  # SIGTERM or SIGHUP reached this process alone: its children must stop too
            children.forward(signum)
    if _State.closing or (resent and not _State.owed):  # a re-delivery of a Ctrl-C that was raised meanwhile
        return
    hook = sys.unraisablehook  # wrap whatever reports swallowed exceptions now (edgekit.tf_log replaces it)
    if not getattr(hook, "_edgekit_interrupt", False):
        sys.unraisablehook = _watching(hook)
    if _State.in_hook:
        _owe()
        return
    _State.owed = False
    raise _exception()


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
            signum = _State.signum or signal.SIGINT  # the one that came, whose handler is _on_signal
            # a real signal, so that it also wakes a main thread blocked in a wait; it reaches _on_signal there
            if hasattr(signal, "pthread_kill"):
                signal.pthread_kill(main, signum)
            else:
                _thread.interrupt_main(signum)
            stop.wait(RESEND_S)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Make Ctrl-C impossible to lose for the duration, and SIGTERM and SIGHUP raise :class:`Terminated` where it
    would (main thread only; elsewhere this does nothing)."""
    # Each signal only where Python's default is in place: one ignored (a background job's SIGINT, nohup's SIGHUP)
    # or handled by the caller stays so
    defaults = {signal.SIGINT: signal.default_int_handler, **{s: signal.SIG_DFL for s in TERMINATING}}
    ours = {s: default for s, default in defaults.items() if signal.getsignal(s) is default}
    if threading.current_thread() is not threading.main_thread() or not ours:
        yield
        return
    wake, stop = threading.Event(), threading.Event()
    helper = threading.Thread(target=_deliver, args=(wake, stop), name="edgekit-interrupt", daemon=True)
    _State.requested = _State.owed = _State.resent = _State.closing = False
    _State.signum, _State.wake = None, wake
    for signum in ours:
        signal.signal(signum, _on_signal)
    helper.start()
    try:
        yield
    finally:
        _State.closing = True
        stop.set()
        wake.set()
        helper.join()  # a re-delivery already on its way lands in _on_signal now, which ignores it
        for signum, default in ours.items():
            signal.signal(signum, default)
        if getattr(sys.unraisablehook, "_edgekit_interrupt", False):
            sys.unraisablehook = sys.unraisablehook.wrapped
        _State.requested = _State.owed = False
        _State.signum = _State.wake = None
