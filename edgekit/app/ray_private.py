"""The one private name of Ray that edgekit relies on, for Ray 2.60 (the [cluster] extra's pin).

``ray._private.worker.print_worker_logs(data, print_file, ignore_prefix)``: where a driver prints what the cluster
publishes to it, even with ``log_to_driver=False`` (a dead node's raylet log tail, for one). edgekit sends these
lines to a log file, so that they never land over the study's progress display. :func:`check` fails loudly
when a Ray version moves or renames it (tests/test_cluster.py runs it).
"""

from __future__ import annotations

import inspect
from pathlib import Path

NAMES = ("ray._private.worker.print_worker_logs",)


def check() -> None:
    from ray._private import worker

    params = list(inspect.signature(worker.print_worker_logs).parameters)
    if params[:2] != ["data", "print_file"]:
        raise RuntimeError(f"ray._private.worker.print_worker_logs takes {params}; edgekit expects (data, "
                           "print_file, ...): update edgekit/app/ray_private.py for this Ray")


def route_logs(log: Path) -> None:
    """What Ray prints to this driver goes to ``log`` instead."""
    from ray._private import worker

    original = worker.print_worker_logs

    def to_log(data, print_file, ignore_prefix=False):
        with open(log, "a") as f:
            original(data, f, ignore_prefix)

    worker.print_worker_logs = to_log
