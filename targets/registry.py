"""The target registry: one frozen record per target, keyed by a ``str`` Enum, hardware figures as data.

Figures and their sources: ``../shared/reference/published-figures.md`` (quoted in docs/estimates.md once
the estimator lands). ``cpu`` and ``gpu`` describe this machine, so their figures are read at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edgekit.errors import unknown_name


class TargetName(str, Enum):
    CPU = "cpu"
    GPU = "gpu"
    RPI4 = "rpi4"
    RPI5 = "rpi5"
    CORAL_USB = "coral-usb"
    CORAL_DEVBOARD = "coral-devboard"


class Reach(str, Enum):
    LOCAL = "local"  # this machine
    SSH = "ssh"  # a device measured over ssh when --host is given, else estimated


@dataclass(frozen=True)
class CpuFigures:
    """A CPU as the estimator sees it."""

    cores: int
    ghz: float
    fp32_flops_per_cycle_per_core: float  # FMA counts as 2 flops
    int8_ops_per_cycle_per_core: float
    memory_gbps: float
    description: str


@dataclass(frozen=True)
class AcceleratorFigures:
    """An Edge TPU as the estimator sees it."""

    int8_tops: float
    param_cache_bytes: int
    host_link_gbps: float  # how fast uncached parameters stream in, per inference
    link: str


@dataclass(frozen=True)
class Target:
    name: TargetName
    title: str
    reach: Reach
    cpu: CpuFigures | None  # None for cpu/gpu: read from this machine
    accelerator: AcceleratorFigures | None = None
    delegate: str | None = None  # "edgetpu" for the Coral targets
    sources: tuple[str, ...] = ()


_RPI_SOURCES = ("shared/reference/published-figures.md: Raspberry Pi hardware facts (geerlingguy/top500-benchmark, "
                "OpenMathLib/OpenBLAS#4149 and #4581, sci-pi.org.uk STREAM)",)
_CORAL_SOURCES = ("coral.ai Edge TPU datasheet and docs: 4 TOPS int8, about 8 MB on-chip parameter cache",)

REGISTRY: dict[TargetName, Target] = {
    t.name: t
    for t in (
        Target(TargetName.CPU, "this machine's CPU", Reach.LOCAL, None),
        Target(TargetName.GPU, "this machine's GPU (LiteRT GPU accelerator)", Reach.LOCAL, None),
        Target(TargetName.RPI4, "Raspberry Pi 4 Model B", Reach.SSH,
               CpuFigures(4, 1.8, 8.0, 16.0, 5.5, "4x Cortex-A72 @ 1.5/1.8 GHz, NEON, LPDDR4-3200"),
               sources=_RPI_SOURCES),
        Target(TargetName.RPI5, "Raspberry Pi 5", Reach.SSH,
               CpuFigures(4, 2.4, 16.0, 32.0, 5.3, "4x Cortex-A76 @ 2.4 GHz, NEON, LPDDR4X-4267"),
               sources=_RPI_SOURCES),
        Target(TargetName.CORAL_USB, "Coral USB Accelerator (Edge TPU over USB 3)", Reach.SSH,
               CpuFigures(4, 1.8, 8.0, 16.0, 5.5, "host CPU (as a Raspberry Pi 4)"),
               AcceleratorFigures(4.0, 8 << 20, 0.32, "USB 3.0"), delegate="edgetpu", sources=_CORAL_SOURCES),
        Target(TargetName.CORAL_DEVBOARD, "Coral Dev Board (Edge TPU, 4x Cortex-A53)", Reach.SSH,
               CpuFigures(4, 1.5, 8.0, 16.0, 3.2, "4x Cortex-A53 @ 1.5 GHz, LPDDR4"),
               AcceleratorFigures(4.0, 8 << 20, 0.5, "PCIe"), delegate="edgetpu", sources=_CORAL_SOURCES),
    )
}

ALIASES = {"rpi": TargetName.RPI4, "coral": TargetName.CORAL_USB}
TARGET_NAMES: tuple[str, ...] = tuple(t.value for t in TargetName)


def get_target(name: str | TargetName) -> Target:
    """Look a target up by name or alias; an unknown name raises a UsageError listing the known ones."""
    key = str(getattr(name, "value", name)).lower()
    if key in ALIASES:
        return REGISTRY[ALIASES[key]]
    try:
        return REGISTRY[TargetName(key)]
    except ValueError:
        raise unknown_name("target", str(name), TARGET_NAMES + tuple(ALIASES)) from None
