"""Where a measurement came from: the machine, the runtime, edgekit's version and commit, and the time."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from functools import cache
from pathlib import Path

# ISA extensions that matter to TFLite kernels (x86 and Arm); the rest of /proc/cpuinfo's flags are noise.
_ISA = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8",
        "neon", "asimd", "asimddp", "fphp", "asimdhp", "sve", "i8mm", "bf16")
REPO = Path(__file__).resolve().parents[1]


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def _ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def governor() -> str | None:
    """The CPU frequency governor of cpu0 (``performance``, ``powersave``...), or None when not exposed."""
    try:
        return Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        return None


@cache
def device() -> dict:
    """This machine: CPU model, cores, ISA flags, RAM, OS."""
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {"cpu": info.get("model name") or info.get("Model") or platform.processor() or platform.machine(),
            "machine": platform.machine(), "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "isa": [f for f in _ISA if f in flags], "ram_gb": _ram_gb(),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "governor": governor()}


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
