"""The Edge TPU cost model: TPU ops at TPU rates, streamed parameters over the host link, the rest on the CPU.

    TPU op   = MACs / (peak int8 MAC rate x TPU efficiency) + fixed overhead per op
    invoke   = a fixed cost per inference on the TPU (start, synchronise, interrupt back)
    stream   = parameter bytes beyond the on-chip cache (filled in execution order), sent every inference:
               bytes / (link rate x link efficiency) + bytes / host DRAM bandwidth (the host reads them)
    I/O      = input bytes and the bytes leaving the TPU segment, over the link
    host     = a fixed per-inference cost of the host's runtime and driver (``host_overhead_ms``)
    CPU part = the first op the TPU cannot run and everything after it, on the host CPU (targets.estimate_cpu)

The partition and the rules come from targets.edgetpu, the same ones ``edgekit check`` applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgekit.analysis.tflite_graph import TFLiteGraph
from targets import estimate_cpu
from targets.edgetpu import TpuReport, check_graph
from targets.opcost import OpCost, input_bytes, op_costs
from targets.registry import AcceleratorFigures, CpuFigures


@dataclass(frozen=True)
class TpuParams:
    tpu_efficiency: float  # share of the 4 TOPS peak that convolutions reach
    op_overhead_us: float  # per TPU op
    link_efficiency: float  # share of the link's nominal payload rate that parameter streaming reaches
    invoke_overhead_ms: float  # per inference on the TPU: starting it, syncing, the interrupt back

    def to_dict(self) -> dict:
        return asdict(self)


# Fitted on the Coral rows of targets/data/published_rows.json; see targets.fit (python -m targets.fit --fit).
CALIBRATED = TpuParams(tpu_efficiency=0.581, op_overhead_us=11.8, link_efficiency=0.906, invoke_overhead_ms=1.21)


@dataclass(frozen=True)
class TpuTime:
    tpu_compute_s: float
    stream_s: float
    io_s: float
    host_s: float
    cpu_s: float

    @property
    def total_s(self) -> float:
        return self.tpu_compute_s + self.stream_s + self.io_s + self.host_s + self.cpu_s


@dataclass(frozen=True)
class TpuLoad:
    """What a partitioned graph asks of an Edge TPU target, summed (see ``estimate_cpu.CpuLoad``)."""

    macs: int  # on the TPU
    tpu_ops: int
    streamed_bytes: int  # parameters beyond the on-chip cache, sent every inference
    io_bytes: int  # input, and the bytes leaving the TPU segment
    cpu: estimate_cpu.CpuLoad | None  # the ops after the split, on the host CPU


def _streamed(ops: tuple[OpCost, ...], cache: int) -> int:
    """Parameter bytes that do not fit the cache when it is filled in execution order."""
    total = sum(op.weight_bytes for op in ops)
    return max(0, total - cache)


def load_of(ops: tuple[OpCost, ...], first_cpu: int, boundary_bytes: int, in_bytes: int,
            acc: AcceleratorFigures, host: CpuFigures) -> TpuLoad:
    """Sum ``ops``, of which the first ``first_cpu`` run on the TPU."""
    tpu, cpu = ops[:first_cpu], ops[first_cpu:]
    return TpuLoad(sum(op.macs for op in tpu), len(tpu), _streamed(tpu, acc.param_cache_bytes),
                   in_bytes + boundary_bytes if tpu else 0, estimate_cpu.load_of(cpu, host) if cpu else None)


def time_of(load: TpuLoad, acc: AcceleratorFigures, host: CpuFigures, threads: int, host_overhead_s: float,
            p: TpuParams = CALIBRATED, cpu_params: estimate_cpu.CpuParams = estimate_cpu.CALIBRATED) -> TpuTime:
    """Price a load on ``acc`` driven by ``host``."""
    peak = acc.int8_tops * 1e12 / 2
    link = acc.host_link_gbps * 1e9 * p.link_efficiency
    compute = load.macs / (peak * p.tpu_efficiency) + load.tpu_ops * p.op_overhead_us * 1e-6
    stream = load.streamed_bytes / link + load.streamed_bytes / (host.memory_gbps * 1e9)
    cpu_time = estimate_cpu.time_of(load.cpu, host, threads, cpu_params).total_s if load.cpu else 0.0
    host_s = host_overhead_s + p.invoke_overhead_ms * 1e-3 if load.tpu_ops else 0.0
    return TpuTime(compute, stream, load.io_bytes / link, host_s, cpu_time)


def estimate_split(ops: tuple[OpCost, ...], first_cpu: int, boundary_bytes: int, in_bytes: int,
                   acc: AcceleratorFigures, host: CpuFigures, threads: int, host_overhead_s: float,
                   p: TpuParams = CALIBRATED) -> TpuTime:
    """Latency terms for ``ops`` of which the first ``first_cpu`` run on the TPU."""
    load = load_of(ops, first_cpu, boundary_bytes, in_bytes, acc, host)
    return time_of(load, acc, host, threads, host_overhead_s, p)


def estimate_graph(graph: TFLiteGraph, acc: AcceleratorFigures, host: CpuFigures, threads: int,
                   host_overhead_s: float, p: TpuParams = CALIBRATED) -> tuple[TpuTime, TpuReport]:
    """Partition ``graph`` by the Edge TPU rules and estimate one inference."""
    report = check_graph(graph, acc.param_cache_bytes)
    first = report.tpu_ops
    boundary = sum(graph.tensors[i].nbytes for i in graph.ops[first - 1].outputs) if first else 0
    if first == len(graph.ops):
        boundary = sum(graph.tensors[i].nbytes for i in graph.outputs)
    return estimate_split(op_costs(graph), first, boundary, input_bytes(graph), acc, host, threads,
                          host_overhead_s, p), report
