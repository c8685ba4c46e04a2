"""edgekit's temporary folders: named after the process that owns them, and removed by a later run once it is gone.

A folder made by :func:`temp_dir` is ``edgekit-KIND-PID-XXXXXXXX`` in the temp dir (``$TMPDIR``). Python removes it
when the ``with`` block ends, a Ctrl-C or a SIGTERM included; a process killed outright (``kill -9``, the OOM killer,
a power cut) leaves it behind, 15 MB for MobileNet v2's SavedModel. So every command starts with :func:`sweep`,
which removes the folders whose owner is no longer running. A PID the system has given to a newer process does
not keep its folder: the process running under it now started after the folder was last written to.

Only names of this exact form are ever removed, and only the user's own folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

KINDS = ("savedmodel", "stages", "convert", "tflm", "data", "scp", "fetch")
_NAME = re.compile(rf"edgekit-({'|'.join(KINDS)})-(\d+)-[A-Za-z0-9_]+")
_CLOCK_SLACK_S = 2.0  # the boot time in /proc/stat is whole seconds


def prefix(kind: str) -> str:
    """The name prefix of a folder of ``kind`` owned by this process, for ``tempfile``."""
    if kind not in KINDS:
        raise ValueError(f"temporary folder kind {kind!r}; edgekit's kinds are {', '.join(KINDS)}")
    return f"edgekit-{kind}-{os.getpid()}-"


@contextlib.contextmanager
def temp_dir(kind: str) -> Iterator[Path]:
    """A fresh private folder ``edgekit-KIND-PID-...`` in the temp dir, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix=prefix(kind)) as tmp:
        yield Path(tmp)


def owner(name: str) -> int | None:
    """The PID in an edgekit temporary folder's name, or None for any other name."""
    match = _NAME.fullmatch(name)
    return int(match[2]) if match else None


def sweep(root: str | Path | None = None, *, only: int | None = None) -> list[Path]:
    """Remove edgekit's temporary folders in ``root`` (the temp dir) whose owning process is gone; what was removed.

    ``only``: just that PID's folders (a child this process has just seen end). Never raises.
    """
    removed = []
    try:
        entries = list(os.scandir(root or tempfile.gettempdir()))
    except OSError:
        return removed
    for entry in entries:
        pid = owner(entry.name)
        if pid is None or (only is not None and pid != only):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
            if not entry.is_dir(follow_symlinks=False) or not mine or _running(pid, st.st_mtime):
                continue
            shutil.rmtree(entry.path)
        except OSError:
            continue  # gone meanwhile, or not ours to remove
        removed.append(Path(entry.path))
    return removed


def _running(pid: int, mtime: float) -> bool:
    """Whether the process that made a folder last written at ``mtime`` may still be running as ``pid``."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    fields = proc_stat(pid)
    if fields is None:
        return True  # no /proc: a live PID keeps its folders
    if fields[0] == "Z":
        return False  # it has ended
    try:
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime
    except (OSError, ValueError, IndexError, StopIteration):
        return True
    return started <= mtime + _CLOCK_SLACK_S


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name (state, ppid, ...), or None where it cannot be
    read (no such process, or no /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
