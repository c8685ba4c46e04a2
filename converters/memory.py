"""How much memory a conversion takes, and whether this machine has it (issue 22). No TensorFlow.

A conversion's peak resident memory grows with the float32 weight bytes (params x 4): TensorFlow's converter
holds the weights several times over (SavedModel variables, the frozen MLIR constants, the float flatbuffer,
the calibration interpreter and the quantizer's copy). The ratios below were measured on a 2-core x86 machine
(TF 2.21, Linux, VmHWM of the converting process, ``/proc/self/clear_refs`` reset at the start):

    VGG-16 (553 MB of float weights)       fp32 4.7 GB   int8 7.1 GB
    ResNet-50 (103 MB of float weights)    fp32 2.6 GB   int8 2.9 GB
    MobileNet v2 (14 MB of float weights)  fp32 1.6 GB   int8 1.6 GB
    LeNet-5 (0.25 MB of float weights)     fp32 0.7 GB   int8 0.7 GB

so the need is estimated as ``BASE + RATIO[mode] x weight bytes`` (docs/memory.md): within 25% for these four,
high for the smallest. A model converted here before uses the peak its sidecar recorded
(``conversion_peak_rss_mb``, kept in the conversion cache) instead.

What is available: ``$EDGEKIT_MEMORY_AVAILABLE_MB`` when set (to plan for a smaller machine, or to test the
guard), else ``MemAvailable`` in ``/proc/meminfo``, capped by a cgroup memory limit (v2 ``memory.max`` or v1
``memory.limit_in_bytes``) less its current usage.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import UsageError

MB = 2**20
BASE_BYTES = int(1.2 * 2**30)  # TensorFlow, the float model and its graph: LeNet-5 0.7 GB, MobileNet v2 1.6 GB
# Peak over float32 weight bytes, beyond BASE_BYTES (measured above; int16x8 calibrates like int8).
RATIO = {"fp32": 7.8, "fp16": 8.0, "int8": 12.5, "int16x8": 12.5}
# A model of STAGED_FROM_BYTES of float weights or more converts as a chain of processes (converters.stages),
# one step that holds copies of the weights in each: its peak is that of its largest stage, TensorFlow (or the
# part of it the stage loads) and a few copies. Measured for VGG-16 (553 MB), as above: fp32 3.3 GB (the final
# stage's de-duplication and metadata), int8 3.6 GB (the quantizer, with the dense kernels in pieces);
# int16x8 calibrates and quantizes in TF's older quantizer, in one stage, as in one process.
STAGED_FROM_BYTES = 128 * MB
STAGED_BASE_BYTES = int(0.6 * 2**30)
STAGED_RATIO = {"fp32": 5.2, "fp16": 5.2, "dynamic": 5.2, "int8": 5.8, "int16x8": 12.5}
ENV = "EDGEKIT_MEMORY_AVAILABLE_MB"


@dataclass(frozen=True)
class MemoryCheck:
    """The expected peak of one conversion against what is available, both in bytes."""

    model: str
    mode: str
    need: int
    available: int | None  # None: not known (no /proc/meminfo)
    basis: str  # where the ratio came from

    @property
    def fits(self) -> bool:
        return self.available is None or self.need <= self.available

    def message(self) -> str:
        """The one line the user sees when it does not fit."""
        return (f"{self.model} {self.mode}: converting needs about {gb(self.need)} of memory ({self.basis}); "
                f"{gb(self.available)} is available")


def gb(n: int | None) -> str:
    if n is None:
        return "an unknown amount"
    return f"{n / MB:,.0f} MB" if n < 2 * 2**30 else f"{n / 2**30:.1f} GB"


def peak_rss_reset() -> bool:
    """Reset this process's peak RSS (VmHWM) so that :func:`peak_rss` measures from now; False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss() -> int | None:
    """This process's peak resident set (VmHWM) in bytes, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def available_bytes() -> int | None:
    """Memory a new conversion can use now: ``$EDGEKIT_MEMORY_AVAILABLE_MB``, else MemAvailable within the cgroup."""
    text = os.environ.get(ENV)
    if text:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{ENV}={text!r} must be a number of megabytes, e.g. {ENV}=4096") from None
        if value <= 0:
            raise UsageError(f"{ENV}={text!r} must be a positive number of megabytes")
        return int(value * MB)
    free = _meminfo_available()
    limit = _cgroup_room()
    if free is None:
        return limit
    return free if limit is None else min(free, limit)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_room() -> int | None:
    """Limit less usage of this process's cgroup (v2, else v1); None when there is no limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:
            return None
        return max(0, int(limit) - usage)
    return None


def learned_peak(model: str, mode: str, weight_bytes: int, staged: bool = False) -> int | None:
    """The largest peak recorded for this model (same name, weight count within 5%) in ``mode`` among cached
    conversions, in bytes; None when it was never converted here. Other models say little: the peak is not
    proportional to the weights alone (ResNet-50 peaks at 19x its weight bytes beyond the base, VGG-16 at 8x)."""
    from converters.cache import cache_dir

    best = None
    for meta_file in (cache_dir() / "convert").glob("*/meta.json"):
        try:
            side = json.loads(meta_file.read_text())["sidecar"]
            peak, params = side.get("conversion_peak_rss_mb"), side.get("params")
            same = (side.get("model") == model and side["quantization"]["mode"] == mode
                    and bool(side.get("conversion_stage_peak_rss_mb")) == staged)
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue
        if same and peak and params and abs(params * 4 - weight_bytes) <= 0.05 * weight_bytes:
            best = max(best or 0, int(peak * MB))
    return best


def expected_peak(weight_bytes: int, mode: str, model: str | None = None, *,
                  staged: bool = False) -> tuple[int, str]:
    """Bytes a conversion of ``weight_bytes`` float32 weights in ``mode`` is expected to peak at, and the basis:
    the peak recorded for ``model`` here when there is one, else the constants (``staged``: those of a conversion
    run as a chain of processes, ``converters.stages``)."""
    learned = learned_peak(model, mode, weight_bytes, staged) if model else None
    if learned is not None:
        return learned, "its peak when converted here before"
    base, ratios = (STAGED_BASE_BYTES, STAGED_RATIO) if staged else (BASE_BYTES, RATIO)
    ratio = ratios.get(mode, max(ratios.values()))
    return int(base + ratio * weight_bytes), (f"{weight_bytes / MB:.0f} MB of float weights x {ratio:g} + "
                                              f"{base / 2**30:.1f} GB")


def check(model: str, mode: str, weight_bytes: int, *, staged: bool | None = None) -> MemoryCheck:
    """``staged`` None: as the conversion will run, by the weights (``STAGED_FROM_BYTES``)."""
    staged = weight_bytes >= STAGED_FROM_BYTES if staged is None else staged
    need, basis = expected_peak(weight_bytes, mode, model, staged=staged)
    return MemoryCheck(model, mode, need, available_bytes(), basis)
