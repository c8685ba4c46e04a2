"""Result documents as CSV: one row per result, the latency summary flattened into ``*_ms`` columns; a result
that failed has its ``error`` and empty numbers."""

from __future__ import annotations

import csv
from pathlib import Path

from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.errors import UsageError
from edgekit.result import is_measured

KEYS = ["id", "run_id", "target", "model", "quant", "threads", "xnnpack", "rounds", "noisy", "runs", "batch",
        "init_ms", "first_ms", "throughput_ips", "peak_rss_mb", "rss_increase_mb", "size_bytes", "macs",
        "gmacs_per_s", "cv", "backend", "backend_version", "time_utc", "commit", "measured", "expected_error_pct",
        "runs_on", "error", *ENERGY_KEYS]
LATENCY = ["min", "mean", "std", "p50", "p90", "p99"]


def write_csv(path: Path, results: list[dict]) -> None:
    """Write ``results`` to ``path``; an unwritable path is a one-line UsageError."""
    try:
        with Path(path).open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(KEYS + [f"{k}_ms" for k in LATENCY] + ["ci95_lo_ms", "ci95_hi_ms"])
            for r in results:
                latency = r.get("latency_ms") or {}
                ci = latency.get("ci95") or [None, None]
                measured = is_measured(r)
                w.writerow([measured if k == "measured" else r.get(k) for k in KEYS]
                           + [latency.get(k) for k in LATENCY] + list(ci))
    except OSError as err:
        raise UsageError(f"cannot write --csv {str(path)!r}: {err.strerror}") from None
