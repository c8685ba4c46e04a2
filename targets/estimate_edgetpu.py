"""The Edge TPU cost model: TPU ops at TPU rates, streamed parameters over the host link, the rest on the CPU.

    TPU op   = MACs / (peak int8 MAC rate x TPU efficiency) + fixed overhead per op
    invoke   = a fixed cost per inference on the TPU (start, synchronise, interrupt back)
    stream   = parameter bytes beyond the on-chip cache (filled in execution order), sent every inference:
               bytes / (link rate x link efficiency) + bytes / host DRAM bandwidth (the host reads them)
    I/O      = input bytes and the bytes leaving the TPU segment, over the link
    host     = a fixed per-inference cost of the host's runtime and driver (``host_overhead_ms``)
    CPU part = the ops the partition leaves on the CPU (leading ops, and those downstream of an op the TPU
               cannot run), on the host CPU (targets.estimate_cpu)

The partition and the rules come from targets.edgetpu, the same ones ``edgekit check`` applies. A compiled
model (``*_edgetpu.tflite``) hides its layers inside the Edge TPU op, so its TPU compute is taken from the
uncompiled model beside it when there is one, else left out (the estimate is then a lower bound, and says so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgekit.analysis.tflite_graph import TFLiteGraph
from targets import estimate_cpu
from targets.edgetpu import TpuReport, check_graph
from targets.opcost import OpCost, op_costs
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
    cpu: estimate_cpu.CpuLoad | None  # the ops the partition leaves on the host CPU
    tpu_ran: bool = True  # a TPU segment runs (a compiled model's Edge TPU op hides its layers: tpu_ops == 0)


def _streamed(ops: tuple[OpCost, ...], cache: int) -> int:
    """Parameter bytes that do not fit the cache when it is filled in execution order."""
    total = sum(op.weight_bytes for op in ops)
    return max(0, total - cache)


def load_parts(tpu: tuple[OpCost, ...], cpu: tuple[OpCost, ...], io_bytes: int, acc: AcceleratorFigures,
               host: CpuFigures, *, param_bytes: int | None = None, tpu_ran: bool | None = None) -> TpuLoad:
    """Sum the ops on the TPU and those on the host CPU.

    Args:
        io_bytes: bytes crossing the link per inference (into and out of the TPU segment).
        param_bytes: parameter bytes on the TPU when ``tpu`` cannot say (a compiled model's Edge TPU op).
        tpu_ran: whether a TPU segment runs; defaults to ``bool(tpu)``.
    """
    ran = bool(tpu) if tpu_ran is None else tpu_ran
    streamed = _streamed(tpu, acc.param_cache_bytes) if param_bytes is None \
        else max(0, param_bytes - acc.param_cache_bytes)
    return TpuLoad(sum(op.macs for op in tpu), len(tpu), streamed, io_bytes if ran else 0,
                   estimate_cpu.load_of(cpu, host) if cpu else None, ran)


def load_of(ops: tuple[OpCost, ...], first_cpu: int, boundary_bytes: int, in_bytes: int,
            acc: AcceleratorFigures, host: CpuFigures) -> TpuLoad:
    """Sum ``ops``, of which the first ``first_cpu`` run on the TPU (a single split, as the fit uses)."""
    return load_parts(ops[:first_cpu], ops[first_cpu:], in_bytes + boundary_bytes, acc, host)


def time_of(load: TpuLoad, acc: AcceleratorFigures, host: CpuFigures, threads: int, host_overhead_s: float,
            p: TpuParams = CALIBRATED, cpu_params: estimate_cpu.CpuParams = estimate_cpu.CALIBRATED) -> TpuTime:
    """Price a load on ``acc`` driven by ``host``."""
    peak = acc.int8_tops * 1e12 / 2
    link = acc.host_link_gbps * 1e9 * p.link_efficiency
    compute = load.macs / (peak * p.tpu_efficiency) + load.tpu_ops * p.op_overhead_us * 1e-6
    stream = load.streamed_bytes / link + load.streamed_bytes / (host.memory_gbps * 1e9)
    cpu_time = estimate_cpu.time_of(load.cpu, host, threads, cpu_params).total_s if load.cpu else 0.0
    host_s = host_overhead_s + p.invoke_overhead_ms * 1e-3 if load.tpu_ran else 0.0
    return TpuTime(compute, stream, load.io_bytes / link, host_s, cpu_time)


def estimate_split(ops: tuple[OpCost, ...], first_cpu: int, boundary_bytes: int, in_bytes: int,
                   acc: AcceleratorFigures, host: CpuFigures, threads: int, host_overhead_s: float,
                   p: TpuParams = CALIBRATED) -> TpuTime:
    """Latency terms for ``ops`` of which the first ``first_cpu`` run on the TPU."""
    load = load_of(ops, first_cpu, boundary_bytes, in_bytes, acc, host)
    return time_of(load, acc, host, threads, host_overhead_s, p)


def estimate_parts(tpu: tuple[OpCost, ...], cpu: tuple[OpCost, ...], io_bytes: int, *, acc: AcceleratorFigures,
                   host: CpuFigures, threads: int, host_overhead_s: float, p: TpuParams = CALIBRATED,
                   param_bytes: int | None = None, tpu_ran: bool | None = None) -> TpuTime:
    """Latency terms for the ops on the TPU and those on the host CPU (see :func:`load_parts`)."""
    load = load_parts(tpu, cpu, io_bytes, acc, host, param_bytes=param_bytes, tpu_ran=tpu_ran)
    return time_of(load, acc, host, threads, host_overhead_s, p)


def link_bytes(graph: TFLiteGraph, on_tpu: tuple[bool, ...]) -> int:
    """Bytes into and out of the TPU segment: what it reads from outside it and what leaves it."""
    t = graph.tensors
    inside = {o for op, on in zip(graph.ops, on_tpu, strict=True) if on for o in op.outputs}
    read = {i for op, on in zip(graph.ops, on_tpu, strict=True) if on for i in op.inputs
            if i >= 0 and i not in inside and not t[i].constant}
    read_outside = {i for op, on in zip(graph.ops, on_tpu, strict=True) if not on for i in op.inputs}
    leaving = {o for o in inside if o in read_outside or o in graph.outputs}
    return sum(t[i].nbytes for i in read | leaving)


def estimate_graph(graph: TFLiteGraph, acc: AcceleratorFigures, host: CpuFigures, threads: int,
                   host_overhead_s: float, p: TpuParams = CALIBRATED) -> tuple[TpuTime, TpuReport]:
    """Partition ``graph`` by the Edge TPU rules and estimate one inference."""
    report = check_graph(graph, acc.param_cache_bytes)
    costs, on = op_costs(graph), report.on_tpu
    tpu = tuple(c for c, o in zip(costs, on, strict=True) if o)
    cpu = tuple(c for c, o in zip(costs, on, strict=True) if not o)
    params = report.param_bytes_on_tpu if report.compiled_for_edgetpu else None
    t = estimate_parts(tpu, cpu, link_bytes(graph, on), acc=acc, host=host, threads=threads,
                       host_overhead_s=host_overhead_s, p=p, param_bytes=params)
    return t, report
