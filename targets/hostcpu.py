"""This machine's CPU as the estimator sees it (``--target cpu --estimate``), read from ``/proc/cpuinfo``.

Assumptions, stated because cpuinfo cannot tell them:
- two vector FMA pipes per core (true of x86 cores since Haswell/Zen and of big Arm cores);
- the vector width is the widest the flags name: avx512f 512 bit, avx/avx2 256, sse2 or asimd/neon 128;
  but AMD Zen 4 (vendor AuthenticAMD, cpu family 25 with avx512f) executes 512-bit instructions on 256-bit
  units (AMD "Zen 4" software optimization guide, 2023), so its peak per cycle is the AVX2 one;
- the family (``targets.cpufamily``) is x86-avx512 / x86-avx2 from the flags, or the Arm core from
  "CPU part" (0xd03 Cortex-A53, 0xd08 Cortex-A72, 0xd0b Cortex-A76), else generic;
- int8: with VNNI (avx512_vnni, avx_vnni) or Arm dotprod (asimddp), 4 int8 MACs per 32-bit lane per
  instruction; without, the widening multiply-add path, 2x the FP32 MAC rate;
- the clock is the highest "cpu MHz" listed (a VM often reports the base clock);
- DRAM bandwidth is not in cpuinfo: 10 GB/s is assumed (one socket's share for a VM or desktop);
- the cache that holds activations is the last-level cache from sysfs (/sys/devices/system/cpu/cpu0/cache:
  the highest level; cpuinfo's "cache size" is only the L2 on AMD), else the listed "cache size", but at
  most 4 MiB per usable core (a VM
  shares the socket's L3 with its neighbours).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from targets.cpufamily import CpuFamily
from targets.registry import CpuFigures

ASSUMED_MEMORY_GBPS = 10.0
_FMA_PIPES = 2
_ARM_PARTS = {"0xd03": CpuFamily.CORTEX_A53, "0xd08": CpuFamily.CORTEX_A72, "0xd0b": CpuFamily.CORTEX_A76}


def _parse(text: str) -> tuple[str, float, set[str], int, dict[str, str]]:
    model, mhz, flags, cache_kb, ident = platform.machine(), 0.0, set(), 0, {}
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key in ("model name", "Model", "Hardware") and model == platform.machine():
            model = value
        elif key == "cpu MHz":
            mhz = max(mhz, float(value or 0))
        elif key in ("flags", "Features"):
            flags |= set(value.split())
        elif key == "cache size" and value.split()[0].isdigit():
            cache_kb = max(cache_kb, int(value.split()[0]))
        elif key in ("vendor_id", "cpu family", "CPU part"):
            ident.setdefault(key, value)
    return model, mhz, flags, cache_kb, ident


def _zen4(flags: set[str], ident: dict[str, str]) -> bool:
    return ident.get("vendor_id") == "AuthenticAMD" and ident.get("cpu family") == "25" and "avx512f" in flags


def _vector_bits(flags: set[str], ident: dict[str, str]) -> int:
    if "avx512f" in flags and not _zen4(flags, ident):
        return 512
    if "avx2" in flags or "avx" in flags or "avx512f" in flags:
        return 256
    return 128


def _family(flags: set[str], ident: dict[str, str]) -> CpuFamily:
    if "avx512f" in flags:
        return CpuFamily.X86_AVX512
    if "avx2" in flags:
        return CpuFamily.X86_AVX2
    return _ARM_PARTS.get(ident.get("CPU part", "").lower(), CpuFamily.GENERIC)


def _sysfs_llc_kb(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """The highest-level cache of CPU 0 in KiB, or 0 when sysfs does not say."""
    best = (0, 0)
    for index in root.glob("index*"):
        try:
            level = int((index / "level").read_text())
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        if size[:-1].isdigit() and size[-1] in "KM":
            best = max(best, (level, int(size[:-1]) * (1024 if size[-1] == "M" else 1)))
    return best[1]


def cpu_figures(cpuinfo: str | None = None, cores: int | None = None) -> CpuFigures:
    """Figures for this machine (or for ``cpuinfo`` text, for tests)."""
    llc_kb = 0
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.is_file() else ""
        llc_kb = _sysfs_llc_kb()
    model, mhz, flags, cache_kb, ident = _parse(cpuinfo)
    cache_kb = llc_kb or cache_kb
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    ghz = mhz / 1000 if mhz else 2.0  # no clock listed (some Arm kernels): assume 2 GHz
    width = _vector_bits(flags, ident)
    lanes = width // 32
    fp32 = 2 * _FMA_PIPES * lanes
    dot = bool(flags & {"avx512_vnni", "avx_vnni", "asimddp"})
    int8 = _FMA_PIPES * lanes * 4 * 2 if dot else 2 * fp32
    family = _family(flags, ident)
    desc = (f"{model}, {cores} cores @ {ghz:.2f} GHz, {width}-bit vectors, "
            f"{'int8 dot product' if dot else 'no int8 dot product'}, family {family.value} (from /proc/cpuinfo; "
            f"{ASSUMED_MEMORY_GBPS:g} GB/s DRAM assumed)")
    return CpuFigures(cores, round(ghz, 3), float(fp32), float(int8), ASSUMED_MEMORY_GBPS, desc,
                      min(cache_kb * 1024 or 8 << 20, cores * (4 << 20)), family.value)
