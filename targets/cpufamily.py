"""CPU families: what XNNPACK-class kernels reach on each core design, as a share of its peak MAC rate.

A family names a core design (and for x86 the vector unit), because kernel efficiency is a property of the
core, not of the board: a Raspberry Pi 4 and any other Cortex-A72 board share it. ``CpuFigures.family``
holds the name; ``estimate_cpu.CpuParams`` holds the efficiency per family. Families with published rows
(Cortex-A53: Raspberry Pi 3B+; Cortex-A72: Raspberry Pi 4) are fitted in ``targets.fit``; the others are
derived in ``estimate_cpu.DERIVED`` (see docs/estimates.md).
"""

from __future__ import annotations

from enum import Enum

from edgekit.errors import unknown_name


class CpuFamily(str, Enum):
    CORTEX_A53 = "cortex-a53"  # in-order, 64-bit NEON datapath (Raspberry Pi 3, Coral Dev Board)
    CORTEX_A72 = "cortex-a72"  # out-of-order, 2x 64-bit NEON pipes, no dot product (Raspberry Pi 4)
    CORTEX_A76 = "cortex-a76"  # 2x 128-bit NEON pipes, SDOT (Raspberry Pi 5)
    X86_AVX2 = "x86-avx2"  # 2x 256-bit FMA (Haswell and later, Zen 1-3)
    X86_AVX512 = "x86-avx512"  # AVX-512 (Intel server cores; Zen 4 runs it on 256-bit units)
    GENERIC = "generic"  # anything else: the most conservative efficiency
    PHONE = "phone"  # a phone's heterogeneous CPU (CpuFigures.clusters): one efficiency fitted on phone rows


FAMILY_NAMES: tuple[str, ...] = tuple(f.value for f in CpuFamily)


def get_family(name: str) -> CpuFamily:
    """The family called ``name``.

    Raises:
        UsageError: an unknown name (with the known ones and "did you mean").
    """
    try:
        return CpuFamily(name)
    except ValueError:
        raise unknown_name("CPU family", name, FAMILY_NAMES) from None
