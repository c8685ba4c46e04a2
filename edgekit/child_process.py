"""The one way edgekit runs a Python child process that answers with JSON.

A benchmark round (``bench.child``), the Keras baseline (``edgekit.app.gpu_baseline``), a conversion in its own
process (``converters.isolated``) and each stage of a staged conversion (``converters.stage_steps``) are run by
:func:`run` and answer through :func:`serve`.

The wire: the parent writes the request, one JSON object, on the child's stdin. The child writes JSON lines on a
pipe whose descriptor is named in its ``EDGEKIT_REPLY_FD``: ``{"progress": N}`` as it goes, then its reply, one
object: what its handler returned, or ``{"error", "error_type", "exit_code"}`` for an :class:`EdgekitError`
(``edgekit.result.error_of``), which :func:`run` raises again as the same type when the caller names it. Run by
hand or by a script, without ``EDGEKIT_REPLY_FD``, the child writes its reply as the last line of its stdout.
The child's stdout and stderr are left to what it prints (TensorFlow prints to stdout): both go to this process's
stderr (``--json`` owns stdout), or, with ``capture``, to a file whose last line a failure message quotes.

Exit status: 0 once the reply is written (whether or not it is an error), 130 after Ctrl-C and 128 + the signal
for SIGTERM and SIGHUP (``edgekit.interrupt``: the child runs its handler inside ``interrupt.guard()``), which
:func:`run` raises here as KeyboardInterrupt or ``interrupt.Terminated``; anything else is a crash. Ctrl-C or
SIGTERM in this process while a child runs ends the child too (``edgekit.children.stop``), and a child ends
when this process is killed outright (``children.die_with_parent``). The child imports this checkout: the one
``PYTHONPATH`` rule is :func:`env`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edgekit import children, interrupt
from edgekit.errors import CheckFailed, EdgekitError, ModelFileError, UsageError, WeightsNotFoundError
from edgekit.result import error_of

REPLY_FD = "EDGEKIT_REPLY_FD"
ROOT = Path(__file__).resolve().parents[1]  # the checkout: edgekit/, bench/, converters/, targets/
_TYPES = (EdgekitError, UsageError, ModelFileError, CheckFailed, WeightsNotFoundError)  # raised again by name

Progress = Callable[[int], None]
Handler = Callable[[dict, Progress], dict]


@dataclass(frozen=True, kw_only=True)
class Child:
    """A child process to run: ``python -m module``.

    ``what`` names it in a failure message ("benchmarking lenet5 (int8)"); ``env`` is added to this environment;
    ``capture`` keeps its output off the terminal; past ``timeout`` seconds it is killed and :class:`ChildTimedOut`
    says so, with ``timeout_hint``; ``errors`` are the EdgekitError types besides ``edgekit.errors``' own that
    its error replies are raised again as."""

    module: str
    what: str
    env: Mapping[str, str] = field(default_factory=dict)
    capture: bool = False
    timeout: float | None = None
    timeout_hint: str = ""
    errors: tuple[type[EdgekitError], ...] = ()


class ChildKilled(EdgekitError):
    """A child ended by a signal without replying (``signum``, ``name``: SIGKILL is usually the out-of-memory
    killer)."""

    def __init__(self, message: str, signum: int, name: str):
        super().__init__(message)
        self.signum, self.name = signum, name


class ChildTimedOut(EdgekitError):
    """A child that ran past its timeout and was killed."""


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment with ``extra``, this checkout first on ``PYTHONPATH``, and this process named as the
    parent (``edgekit.children``): what every child edgekit starts gets."""
    merged = {**os.environ, **(extra or {})}
    merged["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), merged.get("PYTHONPATH")) if p)
    return children.child_env(merged)


def run(child: Child, request: Mapping, *, progress: Progress | None = None) -> dict:
    """Run ``child`` on ``request`` and return its reply; its error reply is raised as its type (EdgekitError for
    a type the caller did not name). ``progress`` gets each ``{"progress": N}`` the child sends."""
    read_fd, write_fd = os.pipe()
    output = tempfile.TemporaryFile() if child.capture else None
    try:
        proc = subprocess.Popen([sys.executable, "-m", child.module], stdin=subprocess.PIPE,
                                stdout=output if output is not None else 2, stderr=output, pass_fds=(write_fd,),
                                env={**env(child.env), REPLY_FD: str(write_fd)})
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    deadline = None if child.timeout is None else time.monotonic() + child.timeout
    reply, tail = None, []
    try:
        try:
            proc.stdin.write(json.dumps(request).encode())
            proc.stdin.close()
        except BrokenPipeError:  # it ended before reading: its exit status says why
            pass
        for line in _lines(read_fd, deadline):
            doc = json.loads(line)
            if set(doc) == {"progress"}:
                if progress is not None:
                    progress(int(doc["progress"]))
            else:
                reply = doc
        code = proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ChildTimedOut(f"{child.what} took over {child.timeout:.0f} s"
                            + (f"; {child.timeout_hint}" if child.timeout_hint else "")) from None
    except BaseException:  # Ctrl-C reached the child too (same process group; SIGTERM is passed on): let it end
        children.stop(proc)
        raise
    finally:
        if output is not None:
            output.seek(0)
            tail = [ln for ln in output.read().decode(errors="replace").splitlines() if ln.strip()][-1:]
            output.close()
    interrupt.check()  # a Ctrl-C here that something swallowed
    return _answer(child, reply, code, tail[0] if tail else None)


def _lines(fd: int, deadline: float | None) -> Iterator[bytes]:
    """The lines written on the pipe ``fd`` until every writer has closed it; TimeoutExpired past ``deadline``."""
    pending = b""
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            if deadline is not None and not select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise subprocess.TimeoutExpired("child", 0)
            chunk = pipe.read(65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            yield from (ln for ln in lines if ln.strip())
    if pending.strip():
        yield pending


def _answer(child: Child, reply: dict | None, code: int, tail: str | None) -> dict:
    if reply is not None:
        failure = error_of(reply)
        if failure is None:
            return reply
        types = {t.__name__: t for t in (*_TYPES, *child.errors)}
        raise types.get(failure.error_type, EdgekitError)(failure.error)
    stopped = {130: None, **{128 + s: s for s in interrupt.TERMINATING}}
    if code in stopped:
        raise KeyboardInterrupt if stopped[code] is None else interrupt.Terminated(stopped[code])
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        oom = "; that is usually the out-of-memory killer: free some memory and run it again" \
            if -code == signal.SIGKILL else ""
        raise ChildKilled(f"{child.what} was killed by signal {-code} ({name}){oom}", -code, name)
    where = f": {tail}" if tail else ("; its output is above, or in the log" if not child.capture else "")
    raise EdgekitError(f"{child.what} failed (exit status {code}){where}")


def serve(handler: Handler) -> int:
    """The child's side: read the request on stdin, run ``handler(request, progress)`` inside
    ``interrupt.guard()``, and send its reply (or its EdgekitError); the exit status, for ``sys.exit``."""
    children.die_with_parent()
    request = json.loads(sys.stdin.read())
    fd = os.environ.pop(REPLY_FD, "")
    out = os.fdopen(int(fd), "w", buffering=1) if fd else sys.stdout

    def send(doc: dict) -> None:
        out.write(json.dumps(doc) + "\n")
        out.flush()

    try:
        with interrupt.guard():  # SIGTERM, forwarded by the parent or sent when it died, is Ctrl-C here too
            reply = handler(request, (lambda n: send({"progress": n})) if fd else (lambda _n: None))
    except EdgekitError as err:
        reply = {"error": str(err), "error_type": type(err).__name__, "exit_code": err.exit_code}
    except KeyboardInterrupt as err:
        return interrupt.how(err).exit_code
    send(reply)
    return 0
