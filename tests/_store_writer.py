"""A writer process for the store's concurrency tests, going through ``bench.store`` as ``edgekit bench`` does.

``python -m tests._store_writer TAG ROWS`` prints ``ready``, then for each line on stdin (database paths) opens
each database, appends ROWS results tagged TAG and prints ``done``. The test releases all writers with one line
each, so they open a new file at the same moment, the race that once failed a fresh clone's CI.
"""

from __future__ import annotations

import sys

from bench.store import ResultStore
from edgekit.result import Result


def main() -> None:
    tag, rows = sys.argv[1], int(sys.argv[2])
    print("ready", flush=True)
    for line in sys.stdin:
        for path in line.split():
            store = ResultStore(path)
            for i in range(rows):
                doc = {"time_utc": "t", "target": "cpu", "model": f"m{i}", "latency_ms": {"p50": 1.0}}
                store.add(tag, Result.from_dict(doc))
            store.close()
        print("done", flush=True)


if __name__ == "__main__":
    main()
