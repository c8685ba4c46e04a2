"""Several devices at once: each host in its own thread, then the results across devices per configuration.

A failing host leaves the others alone; its error and whatever it measured first stay in its outcome.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from edgekit.errors import UsageError
from edgekit.result import Result
from targets.remote import HostOutcome

MAX_PARALLEL = 16
_CONFIG_KEYS = ("target", "model", "quant", "threads", "xnnpack", "delegate")  # aggregate's key, in order


def read_hosts_file(path: str) -> list[str]:
    """One host per line; blank lines and ``#`` comments are skipped."""
    try:
        lines = open(path).read().splitlines()
    except OSError as err:
        raise UsageError(f"cannot read --hosts {path!r}: {err.strerror}") from None
    hosts = [line.split("#", 1)[0].strip() for line in lines]
    hosts = [h for h in hosts if h]
    if not hosts:
        raise UsageError(f"--hosts {path!r} names no host; write one [user@]host per line")
    return hosts


def run_fleet(hosts: list, measure_host: Callable[[object], HostOutcome],
              stop: threading.Event | None = None) -> list[HostOutcome]:
    """``measure_host(host)`` for every host concurrently; outcomes in the order of ``hosts``. On Ctrl-C ``stop`` is
    set before the pool waits for its threads, so that a ``measure_host`` that watches it ends after its current
    round instead of measuring on."""
    if len(hosts) == 1:
        return [measure_host(hosts[0])]
    with ThreadPoolExecutor(max_workers=min(len(hosts), MAX_PARALLEL), thread_name_prefix="edgekit-host") as pool:
        try:
            return list(pool.map(measure_host, hosts))
        except BaseException:
            if stop is not None:
                stop.set()
            raise


def aggregate(results: list[Result]) -> list[dict]:
    """Per configuration across devices: the median p50, its min and max, and the spread (max - min) / median
    (a ``--json`` document of its own)."""
    groups: dict[tuple, list[Result]] = {}
    for r in results:
        key = (r.target, r.model, r.quant, r.threads, r.xnnpack, r.extra.get("delegate"))
        groups.setdefault(key, []).append(r)
    rows = []
    for key, same in groups.items():
        p50 = [r.p50_ms for r in same]
        median = statistics.median(p50)
        rows.append({**dict(zip(_CONFIG_KEYS, key, strict=True)), "devices": len(same),
                     "hosts": [r.extra["host"] for r in same], "median_p50_ms": round(median, 4),
                     "min_p50_ms": round(min(p50), 4), "max_p50_ms": round(max(p50), 4),
                     "spread": round((max(p50) - min(p50)) / median, 4) if median > 0 else None,
                     "measured": True})
    return rows
