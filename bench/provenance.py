"""Where a measurement came from: the machine, the runtime, edgekit's version and commit, and the time."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from functools import cache
from pathlib import Path

from bench import machine

REPO = Path(__file__).resolve().parents[1]


def governor() -> str | None:
    """The CPU frequency governor of cpu0 (``performance``, ``powersave``...), or None when not exposed."""
    return machine.governor()


@cache
def device() -> dict:
    """This machine: CPU model, cores, ISA flags, RAM, OS (``bench.machine``, the probe devices run too)."""
    facts = machine.machine_facts()
    return {**facts, "os": f"{platform.system()} {platform.release()}", "python": facts["python"]}


@cache
def git_commit() -> str | None:
    """The commit edgekit runs from, with ``+dirty`` when the tree has changes; None outside a checkout."""
    if not (REPO / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def provenance() -> dict:
    """What every result carries besides its numbers."""
    from edgekit import __version__

    return {"device": device(), "edgekit": __version__, "commit": git_commit(), "time_utc": utc_now(),
            "measured": True}
