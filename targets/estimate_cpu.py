"""The CPU cost model: each op's time is a compute term, a memory term and a fixed overhead.

    compute  = work / (per-core peak MAC rate for the dtype x efficiency x thread speedup)
    memory   = (weight bytes + activation bytes that do not fit the shared cache) / DRAM bandwidth
    overhead = fixed cycles per op (dispatch, plus a barrier when several threads run it) / clock
    thread speedup = 1 + (min(threads, cores) - 1) x parallel efficiency

The efficiency depends on the op kind and the CPU family (``targets.cpufamily``): convolutions and dense
layers reach the family's GEMM efficiency, depthwise convolutions a shared fraction of it (little reuse),
elementwise ops one element per MAC slot; 8-bit ops a shared factor on their float efficiency (the int8 peak
is a datasheet figure for the widening or dot-product path, which kernels use better or worse than the float
FMA path). ``CALIBRATED`` holds the numbers ``targets.fit`` fits on the published Raspberry Pi rows;
``DERIVED`` the families no published row covers. docs/estimates.md explains it.

The per-op terms only depend on the parameters through sums, so :func:`load_of` sums a graph once and
:func:`time_of` prices the sums: the fit prices a row thousands of times without walking its ops again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgekit.errors import UsageError
from targets.cpufamily import FAMILY_NAMES, CpuFamily, get_family
from targets.opcost import OpCost, OpKind
from targets.registry import CpuFigures


@dataclass(frozen=True)
class CpuParams:
    gemm_efficiency: tuple[tuple[str, float], ...]  # (family, share of the peak MAC rate conv and dense reach)
    depthwise_ratio: float  # depthwise efficiency / GEMM efficiency of the same family (fitted)
    int8_ratio: float  # int8 efficiency / fp32 efficiency, for every op kind (fitted)
    elementwise_efficiency: float  # elements per MAC slot for adds, pools, activations (assumed 1: one element
    # per vector lane per cycle, as a MAC; the published models hold too little elementwise work to fit it)
    op_overhead_cycles: float  # per op: dispatch and setup (fitted)
    barrier_cycles: float = 10_000.0  # per op when more than one thread runs it (assumed: ~5 us at 2 GHz)
    parallel_efficiency: float = 0.9  # each extra thread adds this share of one core (assumed)
    phone_int8_ratio: float = 1.0  # int8_ratio for phone CPUs: their published int8 rows ran other kernels (fitted)

    def gemm(self, family: str) -> float:
        found = dict(self.gemm_efficiency).get(get_family(family).value)
        if found is None:
            raise UsageError(f"no efficiency for CPU family {family!r}; known: {', '.join(FAMILY_NAMES)}")
        return found

    def with_gemm(self, family: str, value: float) -> CpuParams:
        pairs = dict(self.gemm_efficiency) | {family: value}
        return CpuParams(tuple(pairs.items()), self.depthwise_ratio, self.int8_ratio, self.elementwise_efficiency,
                         self.op_overhead_cycles, self.barrier_cycles, self.parallel_efficiency,
                         self.phone_int8_ratio)

    def to_dict(self) -> dict:
        return {**asdict(self), "gemm_efficiency": dict(self.gemm_efficiency)}


# Families no published row covers, and why (docs/estimates.md, "CPU families"):
# - Cortex-A76 (Raspberry Pi 5): the Cortex-A72 figure; same XNNPACK NEON micro-kernels on a wider core.
# - x86 (AVX2, AVX-512): from the shape of XNNPACK's x86 f32 GEMM micro-kernels, which it picks on any x86-64
#   that is not a phone (src/configs/gemm-config.c): 7x16 avx512f-broadcast (7 rows x 16 lanes) with AVX-512,
#   5x16 fma3-broadcast with AVX2. Each step of k loads one weight vector (two with AVX2) and broadcasts one
#   activation per row, then issues one FMA per row and vector: 7 (10) FMAs against 8 (7) loads. With two FMA
#   pipes and two or three load ports per cycle (Intel and AMD optimization manuals; Zen 4 splits a 512-bit FMA
#   over its two 256-bit pipes), the FMA ports, not the loads, bound the loop, so it runs near the FMA peak.
#   What is lost is the partial tiles (a layer's channels not a multiple of 16, its pixels of 7 or 5), about
#   10% over a CNN's 1x1 layers: 0.9 of the peak at the running clock. And /proc/cpuinfo (a VM's especially)
#   lists the base clock while a busy core runs at its boost clock, ~1.4x higher on current server parts
#   (AMD EPYC 9004: 2.25-3.1 GHz base, 3.7 GHz boost; Intel Xeon SP similar): 0.9 x 1.4 = 1.26 of the peak at
#   the listed clock. (An earlier figure, 0.65 x 1.4, assumed a third of the FMA slots idle with no source.)
# - generic: the lowest fitted figure.
DERIVED = {CpuFamily.X86_AVX2.value: 1.26, CpuFamily.X86_AVX512.value: 1.26}

# Fitted on the Raspberry Pi rows of targets/data/published_rows.json; see targets.fit (python -m targets.fit --fit).
# The phone family (every CPU with clusters) is fitted on the phone rows (Pixel to Pixel 4) alone.
_A53, _A72, _PHONE = 0.684, 0.370, 0.886
CALIBRATED = CpuParams(
    gemm_efficiency=((CpuFamily.CORTEX_A53.value, _A53), (CpuFamily.CORTEX_A72.value, _A72),
                     (CpuFamily.CORTEX_A76.value, _A72), (CpuFamily.GENERIC.value, min(_A53, _A72)),
                     (CpuFamily.PHONE.value, _PHONE), *DERIVED.items()),
    depthwise_ratio=0.257, int8_ratio=1.18, elementwise_efficiency=1.0, op_overhead_cycles=48_600.0,
    phone_int8_ratio=0.374)


@dataclass(frozen=True)
class OpTime:
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def total_s(self) -> float:
        return self.compute_s + self.memory_s + self.overhead_s


@dataclass(frozen=True)
class CpuLoad:
    """What a list of ops asks of one CPU, summed: peak-rate seconds by op class, memory seconds, op counts."""

    gemm_s: float  # conv and dense MACs / one core's peak MAC rate for their dtype
    depthwise_s: float
    elementwise_s: float
    int8_gemm_s: float  # the int8 part of each of the three
    int8_depthwise_s: float
    int8_elementwise_s: float
    memory_s: float
    ops: int
    working_ops: int  # ops with MACs or elements (a barrier each when threaded)


def macs_per_second(cpu: CpuFigures, dtype: str) -> float:
    """One core's peak MAC rate for a dtype: 8-bit at the int8 rate, everything else at the FP32 rate."""
    per_cycle = cpu.int8_ops_per_cycle_per_core if dtype == "int8" else cpu.fp32_flops_per_cycle_per_core
    return cpu.ghz * 1e9 * per_cycle / 2


def load_of(ops: tuple[OpCost, ...], cpu: CpuFigures) -> CpuLoad:
    """Sum ``ops`` for ``cpu``."""
    kinds = (OpKind.CONV, OpKind.DEPTHWISE, OpKind.ELEMENTWISE)
    sums = {(k, int8): 0.0 for k in kinds for int8 in (False, True)}
    memory, working = 0.0, 0
    for op in ops:
        work = op.macs or op.elements
        kind = OpKind.CONV if op.kind is OpKind.FC else op.kind
        if work:
            working += 1
            key = (kind if kind in kinds else OpKind.ELEMENTWISE, op.dtype == "int8")
            sums[key] += work / macs_per_second(cpu, op.dtype)
        memory += (op.weight_bytes + max(0, op.act_bytes - cpu.cache_bytes)) / (cpu.memory_gbps * 1e9)
    fp, q = ([sums[(k, int8)] for k in kinds] for int8 in (False, True))
    return CpuLoad(fp[0] + q[0], fp[1] + q[1], fp[2] + q[2], *q, memory, len(ops), working)


def placed(cpu: CpuFigures, threads: int) -> tuple[tuple[str, float], ...]:
    """The cores ``threads`` threads run on, as (core, GHz), fastest first: Android's scheduler (EAS) moves a busy
    thread to the biggest cores, and ``benchmark_model`` runs pinned to them (docs/android.md)."""
    if not cpu.clusters:
        return ((cpu.description or "core", cpu.ghz),) * max(1, min(threads, cpu.cores))
    cores = [(c.core, c.ghz, c.fp32_flops_per_cycle) for c in cpu.clusters for _ in range(c.count)]
    return tuple((core, ghz) for core, ghz, _ in cores[:max(1, min(threads, cpu.cores))])


def placement_note(cpu: CpuFigures, threads: int) -> str:
    """What a phone estimate assumed about its threads, e.g. "4 threads on 1x Cortex-A76 @ 2.84 GHz + 3x ..."."""
    groups: dict[tuple[str, float], int] = {}
    for key in placed(cpu, threads):
        groups[key] = groups.get(key, 0) + 1
    used = " + ".join(f"{n}x {core} @ {ghz:g} GHz" for (core, ghz), n in groups.items())
    return f"{threads} thread(s) on {used}: the biggest cores first, as Android places a busy thread"


def default_threads(cpu: CpuFigures) -> int:
    """Every core, or on a phone every core but the little cluster's (XNNPACK's and TFLite's published phone runs
    use one thread per big core; the little cores would slow the others at the barriers)."""
    if len(cpu.clusters) < 2:
        return cpu.cores
    return sum(c.count for c in cpu.clusters[:-1])


def thread_speedup(cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> float:
    """How many of the fastest core one inference's threads are worth: each core beyond the first adds its share
    of the fastest core's peak rate x the parallel efficiency (XNNPACK's thread pool hands out tiles as threads
    finish, so a slower core takes fewer)."""
    if not cpu.clusters:
        return 1 + (max(1, min(threads, cpu.cores)) - 1) * p.parallel_efficiency
    rates = [c.ghz * c.fp32_flops_per_cycle for c in cpu.clusters for _ in range(c.count)][:max(1, threads)]
    return 1 + p.parallel_efficiency * sum(r / rates[0] for r in rates[1:])


def time_of(load: CpuLoad, cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> OpTime:
    """Price a load on ``cpu`` with ``threads`` threads."""
    used = max(1, min(threads, cpu.cores))
    speedup = thread_speedup(cpu, threads, p)
    gemm = p.gemm(cpu.family)
    # int8 seconds cost this much extra (or less, if negative) at the fp32 efficiency
    int8 = 1 / (p.phone_int8_ratio if cpu.clusters else p.int8_ratio) - 1
    compute = ((load.gemm_s + int8 * load.int8_gemm_s) / gemm
               + (load.depthwise_s + int8 * load.int8_depthwise_s) / (gemm * p.depthwise_ratio)
               + (load.elementwise_s + int8 * load.int8_elementwise_s) / p.elementwise_efficiency) / speedup
    cycles = load.ops * p.op_overhead_cycles + (load.working_ops * p.barrier_cycles if used > 1 else 0.0)
    return OpTime(compute, load.memory_s, cycles / (cpu.ghz * 1e9))


def op_time(op: OpCost, cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> OpTime:
    """The three terms for one op on ``cpu`` with ``threads`` threads."""
    return time_of(load_of((op,), cpu), cpu, threads, p)


def estimate_ops(ops: tuple[OpCost, ...], cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> OpTime:
    """The latency of one inference of ``ops`` on the CPU: the sum of the per-op terms."""
    return time_of(load_of(ops, cpu), cpu, threads, p)
