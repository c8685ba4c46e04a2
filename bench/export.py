"""Results as CSV (their documents, ``Result.to_dict``): one row per result, the latency summary flattened into
``*_ms`` columns; a result that failed has its ``error`` and empty numbers.

``--csv`` follows the rules of every edgekit output: :func:`check_csv` refuses, before anything is measured, a path
that cannot be written as asked, and :func:`write_csv` writes the whole file at once (a temporary file, then a
rename), replacing an existing one only with ``--force`` and never a device, socket or FIFO.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from edgekit.atomic import refuse_special, write_atomic
from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result

KEYS = ["id", "run_id", "target", "model", "quant", "threads", "xnnpack", "rounds", "noisy", "runs", "batch",
        "init_ms", "first_ms", "throughput_ips", "peak_rss_mb", "rss_increase_mb", "size_bytes", "macs",
        "gmacs_per_s", "cv", "backend", "backend_version", "time_utc", "commit", "measured", "expected_error_pct",
        "runs_on", "error", *ENERGY_KEYS]
LATENCY = ["min", "mean", "std", "p50", "p90", "p99"]


def check_csv(path: Path, force: bool) -> None:
    """Refuse a ``--csv`` path that :func:`write_csv` could not write: a special file, a folder, a missing or
    read-only folder, or an existing file without ``force``. A one-line UsageError."""
    path = Path(path).expanduser()
    shown = repr(str(path))
    refuse_special(path, "--csv")
    if path.is_dir():
        raise UsageError(f"--csv {shown} is a folder; give a file name, e.g. {str(path / 'results.csv')!r}")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write --csv {shown}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write --csv {shown}: the folder {str(folder)!r} is not writable")
    if os.path.lexists(path) and not force:
        raise UsageError(f"--csv {shown} already exists; pass --force to replace it, or choose another path")


def csv_bytes(results: list[Result]) -> bytes:
    """The CSV file's bytes. Text from the filesystem (a path that is not UTF-8) is written as its own bytes."""
    f = io.StringIO(newline="")
    w = csv.writer(f)
    w.writerow(KEYS + [f"{k}_ms" for k in LATENCY] + ["ci95_lo_ms", "ci95_hi_ms"])
    for result in results:
        doc = result.to_dict()  # the CSV edge: a row is the document's keys
        latency = doc.get("latency_ms") or {}
        ci = latency.get("ci95") or [None, None]
        w.writerow([result.measured if k == "measured" else doc.get(k) for k in KEYS]
                   + [latency.get(k) for k in LATENCY] + list(ci))
    try:
        return f.getvalue().encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no byte of a path
        return f.getvalue().encode("utf-8", "backslashreplace")


def write_csv(path: Path, results: list[Result], force: bool = False) -> None:
    """Write ``results`` to ``path`` atomically; an existing file only with ``force``. A one-line error."""
    path = Path(path).expanduser()
    refuse_special(path, "--csv")
    try:
        write_atomic(path, csv_bytes(results), force)
    except EdgekitError as err:
        raise EdgekitError(f"--csv: {err}") from None
