"""Which process holds the results database's write lock (``bench.store``'s busy message), from ``/proc/locks``."""

from __future__ import annotations

import os
from pathlib import Path

# The byte ranges SQLite locks (sqlite3.c: WALINDEX_LOCK_OFFSET in the -shm file, PENDING_BYTE in the database).
_SHM_LOCKS = {120: "write lock", 121: "checkpoint lock", 122: "recovery lock"}
_PENDING_BYTE = 0x40000000


def lock_holder(path: str | Path) -> tuple[int, str, str] | None:
    """(pid, which lock, its command line) of another process holding a write lock on the database, from
    ``/proc/locks`` (Linux); None elsewhere or when no such lock is held now."""
    files = {}
    for suffix, which in (("-shm", "shm"), ("", "db")):
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        files[f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"] = which
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:  # "1: POSIX  ADVISORY  WRITE 9692 fe:00:2206146 120 120"
        f = line.split()
        if len(f) < 8 or f[1] != "POSIX" or f[3] != "WRITE" or f[5] not in files or not f[4].isdigit():
            continue
        pid, start = int(f[4]), int(f[6])
        if pid == os.getpid():
            continue
        if files[f[5]] == "shm" and start in _SHM_LOCKS:
            return pid, _SHM_LOCKS[start], _cmdline(pid)
        if files[f[5]] == "db" and start >= _PENDING_BYTE:
            return pid, "write lock (rollback journal)", _cmdline(pid)
    return None


def _cmdline(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "command unknown"
    return text if len(text) <= 80 else text[:77] + "..."
