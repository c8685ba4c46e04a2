"""The built-in targets and their record types: one frozen record per target, keyed by a ``str`` Enum.

Built-in figures come from ``../shared/reference/published-figures.md`` and the vendors' datasheets; each
record cites its sources and docs/estimates.md quotes them. ``cpu`` and ``gpu`` describe this machine, so
their figures are read at run time (``targets.hostcpu``). User targets are TOML files (``targets.userfile``)
in ``$EDGEKIT_HOME/targets/`` (default ``~/.edgekit/targets/``) and hold the same fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class TargetName(str, Enum):
    CPU = "cpu"
    GPU = "gpu"
    RPI4 = "rpi4"
    RPI5 = "rpi5"
    CORAL_USB = "coral-usb"
    CORAL_DEVBOARD = "coral-devboard"
    AUTO = "auto"  # the device given with --host, as what it is (targets.identity)


class Reach(str, Enum):
    LOCAL = "local"  # this machine
    SSH = "ssh"  # a device measured over ssh when --host is given, else estimated


@dataclass(frozen=True)
class CpuFigures:
    """A CPU as the estimator sees it. One MAC is 2 ops (or flops)."""

    cores: int
    ghz: float
    fp32_flops_per_cycle_per_core: float  # FMA counts as 2 flops
    int8_ops_per_cycle_per_core: float
    memory_gbps: float  # sustained DRAM bandwidth (STREAM copy class), GB/s
    description: str = ""
    cache_bytes: int = 1 << 20  # last-level cache the cores share: activations that fit stay out of DRAM

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AcceleratorFigures:
    """An Edge TPU as the estimator sees it."""

    int8_tops: float
    param_cache_bytes: int  # on-chip SRAM for parameters; the rest streams in on every inference
    host_link_gbps: float  # the link's nominal payload rate, GB/s (USB 3.0 and PCIe 2.0 x1: 0.5)
    link: str
    host_overhead_ms: float = 0.0  # per inference, the host's runtime and driver (fitted, see calibration)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Expected:
    """What a device must show to be measured as this target (``targets.identity`` checks it first).

    ``boards`` are substrings of ``/proc/device-tree/model``; ``parts`` the ``CPU part`` of its Arm cores
    (implementer 0x41) in ``/proc/cpuinfo``, one per core type the SoC has.
    """

    boards: tuple[str, ...]
    parts: tuple[str, ...]
    core: str  # what the parts are, for messages

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    name: TargetName | str  # a TargetName for built-ins, a plain str for user targets
    title: str
    reach: Reach
    cpu: CpuFigures | None  # None for cpu/gpu: read from this machine
    accelerator: AcceleratorFigures | None = None
    delegate: str | None = None  # "edgetpu" for the Coral targets
    sources: tuple[str, ...] = ()
    origin: str = "built-in"  # or the TOML file a user target came from
    expected: Expected | None = None  # None: any real (not emulated) device is accepted

    @property
    def key(self) -> str:
        return str(getattr(self.name, "value", self.name))

    def to_dict(self) -> dict:
        return {"name": self.key, "title": self.title, "reach": self.reach.value,
                "cpu": self.cpu.to_dict() if self.cpu else None,
                "accelerator": self.accelerator.to_dict() if self.accelerator else None,
                "delegate": self.delegate, "sources": list(self.sources), "origin": self.origin,
                "expected": self.expected.to_dict() if self.expected else None}


_PI_FACTS = "shared/reference/published-figures.md, Hardware facts (geerlingguy/top500-benchmark, sbc-reviews)"
_RPI4_SOURCES = (_PI_FACTS + ": 4x Cortex-A72 1.5/1.8 GHz, 8 FP32 flop/cycle/core (4 FP64 in HPL), "
                 "LPDDR4-3200, ~5.5 GB/s STREAM copy (sci-pi.org.uk)",
                 "Arm Cortex-A72: ARMv8.0, no dot product; int8 GEMM widens through SMLAL, about 2x the FP32 "
                 "MAC rate", "BCM2711: 1 MB L2 shared by the 4 cores")
_RPI5_SOURCES = (_PI_FACTS + ": 4x Cortex-A76 2.4 GHz, 16 FP32 flop/cycle/core, 512 KB L2/core, 2 MB L3, "
                 "LPDDR4X-4267, ~4.9-5.7 GB/s tinymembench copy",
                 "Arm Cortex-A76 software optimization guide: two 128-bit SDOT per cycle = 32 int8 MACs/cycle")
_CORAL_SOURCES = ("coral.ai Edge TPU datasheet: 4 TOPS int8 (0.5 W per TOPS)",
                  "coral.ai docs (compiler): about 8 MiB on-chip memory caches parameters; the rest stream from "
                  "the host every inference",
                  "USB 3.0 and PCIe 2.0 x1 both signal at 5 Gb/s with 8b/10b coding: 0.5 GB/s payload")
_A53_SOURCES = ("NXP i.MX 8M: 4x Cortex-A53 1.5 GHz, 64-bit NEON datapath (4 FP32 flop/cycle/core), 1 MB L2, "
                "32-bit LPDDR4",)

RPI4_CPU = CpuFigures(4, 1.8, 8.0, 16.0, 5.5, "4x Cortex-A72 @ 1.8 GHz, NEON, LPDDR4-3200", 1 << 20)
RPI5_CPU = CpuFigures(4, 2.4, 16.0, 64.0, 5.3, "4x Cortex-A76 @ 2.4 GHz, NEON + dotprod, LPDDR4X-4267", 2 << 20)
A53_CPU = CpuFigures(4, 1.5, 4.0, 8.0, 3.2, "4x Cortex-A53 @ 1.5 GHz, NEON, LPDDR4", 1 << 20)
EDGE_TPU_USB = AcceleratorFigures(4.0, 8 << 20, 0.5, "USB 3.0")
# The Raspberry Pi 4 adds a per-inference host cost (its USB 3 controller sits behind PCIe, the pycoral Python
# API): fitted on the pycoral RPi 4 row, see targets.fit.
EDGE_TPU_USB_ON_RPI4 = AcceleratorFigures(4.0, 8 << 20, 0.5, "USB 3.0 (Raspberry Pi 4 host)", host_overhead_ms=1.8)
EDGE_TPU_PCIE = AcceleratorFigures(4.0, 8 << 20, 0.5, "PCIe 2.0 x1")
# Board names as the device tree gives them (raspberrypi/linux arch/arm/boot/dts/broadcom/bcm2711-rpi-*.dts,
# bcm2712-rpi-*.dts "model" properties; Coral Dev Board: "Freescale i.MX8MQ Phanbell"); CPU parts from the Arm
# TRMs (MIDR_EL1 PartNum): Cortex-A72 0xd08, Cortex-A76 0xd0b, Cortex-A53 0xd03.
RPI4_ID = Expected(("Raspberry Pi 4", "Raspberry Pi 400", "Raspberry Pi Compute Module 4"), ("0xd08",),
                   "Cortex-A72")
RPI5_ID = Expected(("Raspberry Pi 5", "Raspberry Pi 500", "Raspberry Pi Compute Module 5"), ("0xd0b",),
                   "Cortex-A76")
IMX8MQ_ID = Expected(("i.MX8MQ", "i.MX 8MQ", "Phanbell"), ("0xd03",), "Cortex-A53")

REGISTRY: dict[TargetName, Target] = {
    t.name: t
    for t in (
        Target(TargetName.CPU, "this machine's CPU", Reach.LOCAL, None),
        Target(TargetName.GPU, "this machine's GPU (LiteRT GPU accelerator)", Reach.LOCAL, None),
        Target(TargetName.RPI4, "Raspberry Pi 4 Model B", Reach.SSH, RPI4_CPU, sources=_RPI4_SOURCES,
               expected=RPI4_ID),
        Target(TargetName.RPI5, "Raspberry Pi 5", Reach.SSH, RPI5_CPU, sources=_RPI5_SOURCES,
               expected=RPI5_ID),
        Target(TargetName.CORAL_USB, "Coral USB Accelerator (Edge TPU over USB 3) on a Raspberry Pi 4",
               Reach.SSH, RPI4_CPU, EDGE_TPU_USB_ON_RPI4, delegate="edgetpu", sources=_CORAL_SOURCES + _RPI4_SOURCES),
        Target(TargetName.CORAL_DEVBOARD, "Coral Dev Board (Edge TPU on PCIe, 4x Cortex-A53)", Reach.SSH,
               A53_CPU, EDGE_TPU_PCIE, delegate="edgetpu", sources=_CORAL_SOURCES + _A53_SOURCES,
               expected=IMX8MQ_ID),
        Target(TargetName.AUTO, "the device given with --host, measured as what it is", Reach.SSH, None),
    )
}

ALIASES = {"rpi": TargetName.RPI4, "coral": TargetName.CORAL_USB}
TARGET_NAMES: tuple[str, ...] = tuple(t.value for t in TargetName)

