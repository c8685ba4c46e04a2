"""The one probe of what machine this is: CPU, ISA flags, cores, RAM, OS, governor, frequency, load.

Standard library only, and Python 3.7 compatible: ``bench.provenance`` uses it here, and the device runner
(``targets/device_facts.py``) uses the same file on a device, copied beside it or inlined when piped to
``python3 -``. So local and remote records report the same fields from the same code.
"""

from __future__ import annotations

import os
import platform

# ISA extensions that matter to TFLite/XNNPACK kernels (x86 and Arm); the rest of the flags are noise.
ISA = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8",
       "neon", "asimd", "asimddp", "fphp", "asimdhp", "sve", "i8mm", "bf16")
# /proc/cpuinfo "CPU part" of Arm cores (implementer 0x41); 64-bit Arm kernels print no model name.
# Source: Arm Technical Reference Manuals, MIDR_EL1 PartNum field of each core.
ARM_PARTS = {"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
             "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
             "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78", "0xd44": "Cortex-X1",
             "0xd46": "Cortex-A510", "0xd47": "Cortex-A710", "0xd4b": "Cortex-A78C", "0xd40": "Neoverse-V1",
             "0xd4f": "Neoverse-V2", "0xd49": "Neoverse-N2"}


def read(path: str) -> str | None:
    """A small text file (NULs dropped, stripped), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace").replace("\x00", "").strip()
    except OSError:
        return None


def cpuinfo(text: str | None = None) -> dict:
    """The first value of each key in ``/proc/cpuinfo`` (or ``text``)."""
    info: dict = {}
    for line in ((read("/proc/cpuinfo") if text is None else text) or "").splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def isa_flags(info: dict) -> list:
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return [f for f in ISA if f in flags]


def cpu_name(info: dict) -> str:
    part = ARM_PARTS.get(info.get("CPU part", "").lower())
    return info.get("model name") or part or platform.processor() or platform.machine()


def ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def governor() -> str | None:
    """The CPU frequency governor of cpu0 (``performance``, ``powersave``...), or None when not exposed."""
    return read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def cpu_mhz() -> float | None:
    """cpu0's current frequency in MHz (cpufreq), else /proc/cpuinfo's "cpu MHz", else None."""
    khz = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    if khz and khz.isdigit():
        return round(int(khz) / 1000, 1)
    try:
        return round(float(cpuinfo().get("cpu MHz", "")), 1)
    except ValueError:
        return None


def load_average() -> list | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def state() -> dict:
    """What can change between rounds: the load average, cpu0's frequency and the governor."""
    return {"load_average": load_average(), "cpu_mhz": cpu_mhz(), "governor": governor()}


def board(info: dict) -> str | None:
    return read("/proc/device-tree/model") or info.get("Model") or info.get("Hardware")


def machine_facts() -> dict:
    """This machine: CPU model, architecture, cores, ISA flags, RAM, Python and governor."""
    info = cpuinfo()
    return {"cpu": cpu_name(info), "machine": platform.machine(), "cores": os.cpu_count(),
            "usable_cores": usable_cores(), "isa": isa_flags(info), "ram_gb": ram_gb(),
            "python": platform.python_version(), "governor": governor()}
