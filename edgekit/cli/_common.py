"""What every command shares: JSON output, the rich console, and number formatting."""

from __future__ import annotations

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
