"""What every command shares: JSON output, the rich console, and number formatting."""

from __future__ import annotations

import contextlib
import json
import sys

from rich.console import Console

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


@contextlib.contextmanager
def progress_bar(label: str):
    """A transient progress bar on stderr, shown from the first update on; yields ``update(description, i, n)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    state: dict = {}

    def update(description: str, index: int, total: int) -> None:
        if "bar" not in state:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            state["bar"] = Progress(*columns, console=err_console, transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=total)
        state["bar"].update(state["task"], description=description, completed=index)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
