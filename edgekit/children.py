"""The processes edgekit starts end with it.

Ctrl-C in a terminal reaches the whole foreground process group: a child (a benchmark round, a conversion, one of
its stages) is interrupted at the same moment as edgekit, and ends as edgekit does. SIGTERM and SIGHUP sent to
edgekit's PID (``timeout``, ``kill``, systemd, a dropped ssh session) reach edgekit alone, so ``edgekit.interrupt``
passes them on to edgekit's children with :func:`forward`. A child that runs Python calls :func:`die_with_parent`
as it starts, so that on Linux it gets SIGTERM even when edgekit is killed outright (``kill -9``, the OOM killer).
When an interrupt unwinds past a child, :func:`stop` gives it a moment to clean up, then kills it, and removes
the temporary folders it left (``edgekit.tempdirs``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from edgekit import tempdirs

PARENT_ENV = "EDGEKIT_PARENT_PID"  # set by the parent in a child's environment, read by die_with_parent
GRACE_S = 1.5  # how long a child that got the signal too may take to clean up before it is killed
_PR_SET_PDEATHSIG = 1


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (this environment) with this process named as the parent, for a child that calls
    :func:`die_with_parent`."""
    return {**(os.environ if base is None else base), PARENT_ENV: str(os.getpid())}


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``signum`` to this process when its parent ends; elsewhere this does nothing.

    If the parent has already ended (it was killed while this process started), the signal comes at once.
    """
    parent = os.environ.pop(PARENT_ENV, "")  # not inherited by this process's own children
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if parent.isdigit() and os.getppid() != int(parent):
        os.kill(os.getpid(), signum)


def children(pid: int | None = None) -> list[int]:
    """The PIDs of the live processes whose parent is ``pid`` (this process); empty where there is no /proc."""
    parent = str(os.getpid() if pid is None else pid)
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                fields = tempdirs.proc_stat(int(entry.name))
                if fields is not None and len(fields) > 1 and fields[1] == parent and fields[0] != "Z":
                    found.append(int(entry.name))
    return found


def forward(signum: int) -> None:
    """Send ``signum`` to every child of this process (never raises)."""
    for pid in children():
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def stop(proc: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """End ``proc`` as an interrupt unwinds: it got the signal too (the terminal's group, or :func:`forward`), so
    wait ``grace_s`` for it to clean up, then kill it; then remove the temporary folders it left."""
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    finally:  # a second Ctrl-C during the wait still ends the child
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tempdirs.sweep(only=proc.pid)
