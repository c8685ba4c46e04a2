"""The CPU cost model: each op's time is a compute term, a memory term and a fixed overhead.

    compute  = MACs / (per-core peak MAC rate for the dtype x efficiency of the op kind x thread speedup)
    memory   = (weight bytes + activation bytes that do not fit the shared cache) / DRAM bandwidth
    overhead = fixed cycles per op (dispatch, plus a barrier when several threads run it) / clock
    thread speedup = 1 + (min(threads, cores) - 1) x parallel efficiency

The GEMM efficiency is the model's only fitted number (``CALIBRATED`` below, fitted in
``targets.fit``); the rates come from the target's hardware figures. docs/estimates.md explains it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from targets.opcost import OpCost, OpKind
from targets.registry import CpuFigures


@dataclass(frozen=True)
class CpuParams:
    gemm_efficiency: float  # share of the peak MAC rate that convolutions and dense layers reach
    depthwise_efficiency: float = 0.1  # depthwise convolutions: little data reuse (assumed; the calibration
    # rows hold too few depthwise MACs to fit it)
    elementwise_efficiency: float = 0.25  # elements per MAC slot for adds, pools, activations (assumed)
    op_overhead_cycles: float = 20_000.0  # per op: dispatch and setup (assumed: ~10 us at 2 GHz)
    barrier_cycles: float = 10_000.0  # per op when more than one thread runs it (assumed)
    parallel_efficiency: float = 0.9  # each extra thread adds this share of one core (assumed)

    def to_dict(self) -> dict:
        return asdict(self)


# Fitted on the Raspberry Pi 4 XNNPACK rows of published-figures.md; see targets.fit.
CALIBRATED = CpuParams(gemm_efficiency=0.39)


@dataclass(frozen=True)
class OpTime:
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def total_s(self) -> float:
        return self.compute_s + self.memory_s + self.overhead_s


def macs_per_second(cpu: CpuFigures, dtype: str) -> float:
    """One core's peak MAC rate for a dtype: 8-bit at the int8 rate, everything else at the FP32 rate."""
    per_cycle = cpu.int8_ops_per_cycle_per_core if dtype == "int8" else cpu.fp32_flops_per_cycle_per_core
    return cpu.ghz * 1e9 * per_cycle / 2


def _efficiency(p: CpuParams, kind: OpKind) -> float:
    return {OpKind.CONV: p.gemm_efficiency, OpKind.FC: p.gemm_efficiency,
            OpKind.DEPTHWISE: p.depthwise_efficiency}.get(kind, p.elementwise_efficiency)


def op_time(op: OpCost, cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> OpTime:
    """The three terms for one op on ``cpu`` with ``threads`` threads."""
    used = max(1, min(threads, cpu.cores))
    speedup = 1 + (used - 1) * p.parallel_efficiency
    work = op.macs or op.elements
    compute = work / (macs_per_second(cpu, op.dtype) * _efficiency(p, op.kind) * speedup)
    traffic = op.weight_bytes + max(0, op.act_bytes - cpu.cache_bytes)
    memory = traffic / (cpu.memory_gbps * 1e9)
    cycles = p.op_overhead_cycles + (p.barrier_cycles if used > 1 and work else 0.0)
    return OpTime(compute, memory, cycles / (cpu.ghz * 1e9))


def estimate_ops(ops: tuple[OpCost, ...], cpu: CpuFigures, threads: int, p: CpuParams = CALIBRATED) -> OpTime:
    """Sum of the per-op terms: the latency of one inference on the CPU."""
    times = [op_time(op, cpu, threads, p) for op in ops]
    return OpTime(sum(t.compute_s for t in times), sum(t.memory_s for t in times), sum(t.overhead_s for t in times))
