"""What every command shares: JSON output, the rich console, number formatting, the progress bar and Ctrl-C
(SIGTERM and SIGHUP too)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable

from rich.console import Console

from edgekit import interrupt
from edgekit.errors import EdgekitError

err_console = Console(stderr=True, highlight=False)


def console() -> Console:
    return Console(highlight=False)


def emit_json(document) -> None:
    """Print one JSON document to stdout, and nothing else."""
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def human(n: float | None, unit: str = "") -> str:
    """1234567 -> '1.23 M'; keeps tables readable."""
    if n is None:
        return "-"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {suffix}{unit}"
    return f"{n:g} {unit}".rstrip()


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for factor, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {suffix}"
    return f"{n} B"


def warn(line: str) -> None:
    """One warning line on stderr."""
    err_console.print(f"edgekit: warning: {line}", markup=False, soft_wrap=True)


class Interrupted(EdgekitError):
    """Ctrl-C, SIGTERM or SIGHUP, as one line saying what was kept (exit 130, 143 or 129)."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


@contextlib.contextmanager
def interrupt_says(message: str | Callable[[], str]):
    """Ctrl-C becomes :class:`Interrupted` with ``message``: typer turns a KeyboardInterrupt into a silent return
    otherwise. ``message`` may be a function, called then, to count what was kept. SIGTERM and SIGHUP are Ctrl-C
    too (``edgekit.interrupt``): a message that starts with "interrupted" starts with "terminated (SIGTERM)" then,
    and the exit code is theirs."""
    try:
        yield
    except KeyboardInterrupt as err:
        word, code = interrupt.how(err)
        text = message() if callable(message) else message
        if text.startswith("interrupted"):
            text = word + text[len("interrupted"):]
        raise Interrupted(text, code) from None


class ProgressBar:
    """The one progress display: a transient bar on stderr, shown from the first update on; :meth:`say` prints
    above it and :meth:`paused` takes it off the screen while something else writes to the terminal."""

    def __init__(self, label: str):
        self.label = label
        self._bar = self._task = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, total: int, description: str | None = None) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self._bar = Progress(*columns, console=err_console, transient=True)
            self._task = self._bar.add_task(self.label, total=total)
            self._bar.start()
        self._bar.update(self._task, completed=done, total=total, description=description or self.label)

    def say(self, message: str) -> None:
        (self._bar.console if self._bar is not None else err_console).print(message, markup=False, soft_wrap=True)

    @contextlib.contextmanager
    def paused(self):
        if self._bar is None:
            yield
            return
        self._bar.stop()
        try:
            yield
        finally:
            self._bar.start()
