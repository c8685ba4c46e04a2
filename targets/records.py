"""The target record types: a frozen record per target (:class:`Target`) with its figures, keyed by a ``str`` Enum
(:class:`TargetName`), and how a target is reached (:class:`Reach`) and served (:class:`Method`).

The built-in records are ``targets.builtin``; user targets (``targets.userfile``) hold the same fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

from targets.cpufamily import CpuFamily


class TargetName(str, Enum):
    CPU = "cpu"
    GPU = "gpu"
    RPI4 = "rpi4"
    RPI5 = "rpi5"
    CORAL_USB = "coral-usb"
    CORAL_DEVBOARD = "coral-devboard"
    CORTEX_M4 = "cortex-m4"
    CORTEX_M7 = "cortex-m7"
    AUTO = "auto"  # the device given with --host, as what it is (targets.identity)
    PIXEL = "pixel"
    PIXEL2 = "pixel2"
    PIXEL3 = "pixel3"
    PIXEL3A = "pixel3a"
    PIXEL4 = "pixel4"
    ANDROID = "android"  # the phone given with --serial, measured over adb as what it is (targets.android)


class Reach(str, Enum):
    LOCAL = "local"  # this machine
    SSH = "ssh"  # a device measured over ssh when --host is given, else estimated
    MCU = "mcu"  # a microcontroller: the model runs in TFLite Micro here (arena measured), its latency estimated
    ADB = "adb"  # a phone measured over adb when --serial is given, else estimated (docs/android.md)


@dataclass(frozen=True)
class CoreCluster:
    """One cluster of identical cores in a heterogeneous (big.LITTLE) CPU: a phone's prime, big or little cores."""

    core: str  # the core design, for messages: "Cortex-A76", "Kryo"
    count: int
    ghz: float
    fp32_flops_per_cycle: float  # per core; FMA counts as 2 flops
    int8_ops_per_cycle: float

    def to_dict(self) -> dict:
        return asdict(self)


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
    family: str = "generic"  # a targets.cpufamily name: sets the kernels' efficiency (docs/estimates.md)
    # A heterogeneous CPU (a phone's): its clusters, fastest first; then the fields above describe the fastest
    # cluster's cores and ``cores`` counts them all (``phone_cpu`` builds it). Empty: every core is alike.
    clusters: tuple[CoreCluster, ...] = ()

    def to_dict(self) -> dict:
        return {**asdict(self), "clusters": [c.to_dict() for c in self.clusters]}


def phone_cpu(clusters: tuple[CoreCluster, ...], memory_gbps: float, cache_bytes: int, description: str = "") -> \
        CpuFigures:
    """A heterogeneous CPU from its clusters, ordered fastest first (per-core FP32 rate), as Android places
    threads: the biggest cores first."""
    ordered = tuple(sorted(clusters, key=lambda c: -c.ghz * c.fp32_flops_per_cycle))
    top = ordered[0]
    text = description or " + ".join(f"{c.count}x {c.core} @ {c.ghz:g} GHz" for c in ordered)
    return CpuFigures(sum(c.count for c in ordered), top.ghz, top.fp32_flops_per_cycle, top.int8_ops_per_cycle,
                      memory_gbps, text, cache_bytes, CpuFamily.PHONE.value, ordered)


@dataclass(frozen=True)
class Phone:
    """What a phone target is besides its CPU: the SoC and GPU by name (the estimator has no GPU model)."""

    soc: str
    gpu: str = ""
    gpu_memory_gbps: float | None = None  # the SoC's DRAM peak, which its GPU shares
    # What ``getprop`` must show for a phone to be measured as this target (``targets.android.check_target``):
    # ``ro.product.model`` one of ``models``; ``ro.soc.model`` or ``ro.board.platform`` one of ``soc_ids``
    # (case-insensitive). Empty: not checked (a user phone that names none accepts any real arm64 phone).
    models: tuple[str, ...] = ()
    soc_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AcceleratorFigures:
    """An Edge TPU as the estimator sees it."""

    int8_tops: float
    param_cache_bytes: int  # on-chip SRAM for parameters; the rest streams in on every inference
    host_link_gbps: float  # the link's nominal payload rate, GB/s (USB 3.0 and PCIe 2.0 x1: 0.5)
    link: str
    host_overhead_ms: float = 0.0  # per inference, the host's USB/driver path beyond a desktop's (fitted, targets.fit)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class McuFigures:
    """A microcontroller board class as ``edgekit check``/``bench`` see it (``targets.mcu``)."""

    core: str  # "cortex-m4", "cortex-m7": the key of the published latency rows (targets.mcu_latency)
    board: str
    mhz: float
    sram_bytes: int  # all on-chip SRAM
    arena_budget_bytes: int  # the largest contiguous SRAM block: TFLM's tensor arena is one array
    flash_bytes: int
    fpu: str
    cmsis_nn: bool  # Arm's CMSIS-NN kernels (int8, DSP extension) are available to TFLM on this core

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


class Method(str, Enum):
    """How a target is served for ``edgekit bench`` and the study (``Target.method``)."""

    LOCAL = "local"  # this machine's CPU, each round in a fresh process
    GPU = "gpu"  # this machine's GPU (LiteRT's GPU delegate)
    REMOTE = "remote"  # a device over ssh (--host)
    ESTIMATE = "estimate"  # the cost model, nothing run
    MCU = "mcu"  # TFLite Micro here (arena measured), latency estimated
    ADB = "adb"  # a phone over adb (--serial), LiteRT's benchmark_model


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
    mcu: McuFigures | None = None  # microcontroller targets (Reach.MCU) only
    expected: Expected | None = None  # None: any real (not emulated) device is accepted
    phone: Phone | None = None  # phones (Reach.ADB) only

    @property
    def key(self) -> str:
        return str(getattr(self.name, "value", self.name))

    def method(self, *, host: bool = False, estimate: bool = False) -> Method:
        """How this target is served: ``host``, whether a device to measure on is given (--host); ``estimate``,
        whether an estimate is asked for (--estimate). A device target without a host is estimated; ``auto``
        is only ever measured on its host (without one it is refused where it is dispatched)."""
        if self.mcu is not None:
            return Method.MCU
        if self.reach is Reach.ADB:
            return Method.ADB if host or self.name == TargetName.ANDROID else Method.ESTIMATE
        if host or self.name == TargetName.AUTO:
            return Method.REMOTE
        if estimate or self.reach is not Reach.LOCAL:
            return Method.ESTIMATE
        return Method.GPU if self.name == TargetName.GPU else Method.LOCAL

    def to_dict(self) -> dict:
        return {"name": self.key, "title": self.title, "reach": self.reach.value,
                "cpu": self.cpu.to_dict() if self.cpu else None,
                "accelerator": self.accelerator.to_dict() if self.accelerator else None,
                "delegate": self.delegate, "sources": list(self.sources), "origin": self.origin,
                "mcu": self.mcu.to_dict() if self.mcu else None,
                "expected": self.expected.to_dict() if self.expected else None,
                "phone": self.phone.to_dict() if self.phone else None}
