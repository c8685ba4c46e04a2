"""The Edge TPU's verdict on a graph, in one place: ``edgekit check`` and the Edge TPU estimator both use it.

Which ops map comes from ``targets.edgetpu_ops`` (Coral's table of supported operations). How they are
partitioned is modelled on what edgetpu_compiler 16 does (docs/edgetpu.md has the reasoning and its limits):

- Leading CPU ops: an op that cannot be mapped and reads only graph inputs, constants and other leading ops
  (a CAST or QUANTIZE of a float input) runs on the CPU before the Edge TPU op and does not stop it.
- One Edge TPU segment: every op that can be mapped and reads nothing computed on the CPU after the start.
  The compiler makes one ``edgetpu-custom-op``; an op it cannot map is the segment's edge, not its end.
- Everything downstream of an op that cannot be mapped runs on the CPU, after the Edge TPU op, even if the
  table supports it ("the compiler cannot partition the model more than once": coral.ai/docs/edgetpu/compiler,
  "Model partitioning" / models-intro "Compiling"); ops on other branches stay on the TPU.
- An already compiled model (``edgetpu-custom-op`` in the graph) is reported as it is: what the custom op
  holds, and which ops the compiler left on the CPU.

About 8 MiB of on-chip memory caches parameters; the rest stream from the host on every inference
(coral.ai/docs/edgetpu/compiler, "Parameter data caching").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from edgekit.analysis.tflite_graph import EDGETPU_CUSTOM_OP as EDGETPU_OP
from edgekit.analysis.tflite_graph import TFLiteGraph
from targets.edgetpu_ops import EIGHT_BIT, OPS, bad_rank, dynamic, op_problem

ON_CHIP_PARAM_BYTES = 8 << 20


class Placement(str, Enum):
    """Where the compiled model runs an op."""

    TPU = "tpu"  # inside the one Edge TPU op
    LEADING = "leading"  # on the CPU, before the Edge TPU op (reads only inputs and other leading ops)
    CPU = "cpu"  # on the CPU, after the Edge TPU op


@dataclass(frozen=True)
class OpVerdict:
    index: int
    opcode: str
    on_tpu: bool
    why_not: str = ""  # empty when the op runs on the TPU
    placement: Placement = Placement.TPU


@dataclass(frozen=True)
class TpuReport:
    """What the Edge TPU makes of a graph."""

    compatible: bool  # every requirement met and every op maps (a compiled model: it holds an Edge TPU op)
    reasons: tuple[str, ...]  # why it is not compatible (empty when it is)
    warnings: tuple[str, ...]
    ops: tuple[OpVerdict, ...]
    first_unsupported: int | None  # index of the first op that cannot be mapped, None if every op can
    param_bytes_on_tpu: int
    param_cache_bytes: int
    streamed_param_bytes: int = field(default=0)
    compiled_for_edgetpu: bool = False  # the file already holds edgetpu_compiler's output

    @property
    def tpu_ops(self) -> int:
        return sum(v.on_tpu for v in self.ops)

    @property
    def on_tpu(self) -> tuple[bool, ...]:
        return tuple(v.on_tpu for v in self.ops)

    def to_dict(self) -> dict:
        cpu = [{"index": v.index, "opcode": v.opcode, "placement": v.placement.value, "why_not": v.why_not}
               for v in self.ops if not v.on_tpu]
        return {"compatible": self.compatible, "compiled_for_edgetpu": self.compiled_for_edgetpu,
                "reasons": list(self.reasons), "warnings": list(self.warnings),
                "ops_total": len(self.ops), "ops_on_tpu": self.tpu_ops, "ops_on_cpu": len(cpu),
                "first_unsupported": self.first_unsupported, "cpu_ops": cpu,
                "custom_op_bytes": self.param_bytes_on_tpu if self.compiled_for_edgetpu else None,
                "param_bytes_on_tpu": self.param_bytes_on_tpu, "param_cache_bytes": self.param_cache_bytes,
                "streamed_param_bytes": self.streamed_param_bytes,
                "ops": [{"index": v.index, "opcode": v.opcode, "on_tpu": v.on_tpu, "placement": v.placement.value,
                         "why_not": v.why_not} for v in self.ops]}


def partition(graph: TFLiteGraph, problems: list[str]) -> list[Placement]:
    """Place each op on the TPU, on the CPU before the TPU op (leading), or on the CPU after it.

    ``problems[i]`` is why op i cannot be mapped ("" when it can). Ops are visited in execution order, which
    TFLite keeps topological, so every producer is placed before its consumers.
    """
    producer = {t: op.index for op in graph.ops for t in op.outputs}
    places: list[Placement] = []
    for op, problem in zip(graph.ops, problems, strict=True):
        sources = [places[producer[t]] for t in op.inputs if t >= 0 and t in producer]
        if Placement.CPU in sources:  # downstream of an op left behind: the one TPU segment cannot take it
            places.append(Placement.CPU)
        elif not problem:
            places.append(Placement.TPU)
        else:  # cannot be mapped: before the TPU op if it reads only inputs and leading ops, else after it
            leading = all(s is Placement.LEADING for s in sources)
            places.append(Placement.LEADING if leading else Placement.CPU)
    return places


def _downstream_note(graph: TFLiteGraph, verdicts: list[OpVerdict], first: int) -> str:
    if not any(v.on_tpu for v in verdicts):
        return (f"no op maps to the Edge TPU; all {len(verdicts)} run on the CPU. The first, op {first} "
                f"({graph.ops[first].opcode}): {verdicts[first].why_not}")
    lead = sum(v.placement is Placement.LEADING for v in verdicts)
    after = sum(v.placement is Placement.CPU for v in verdicts)
    return (f"op {first} ({graph.ops[first].opcode}) cannot run on the Edge TPU: {verdicts[first].why_not}. "
            f"{sum(v.on_tpu for v in verdicts)} of {len(verdicts)} ops on the TPU; on the CPU, {lead} before the "
            f"Edge TPU op (leading) and {after} after it (unmappable ops and everything downstream of them)")


def _lstm_state(graph: TFLiteGraph) -> set[int]:
    """Tensors an LSTM op keeps for itself (int16 cell state, gate intermediates): not the model's activations."""
    return {i for op in graph.ops if (r := OPS.get(op.opcode)) and r.lstm for i in op.inputs[1:] + op.outputs[1:]}


def _model_reasons(graph: TFLiteGraph) -> list[str]:
    t = graph.tensors
    reasons = []
    own = _lstm_state(graph)
    acts = [x for x in t if not x.constant and x.index not in own]
    wide = sorted({x.dtype for x in acts if x.dtype not in EIGHT_BIT | {"int32"}})
    if wide:  # int32 activations are shape arithmetic: the op rules report where they split the graph
        n = sum(x.dtype in wide for x in acts)
        reasons.append(f"not fully 8-bit: {n} of {len(acts)} activation tensors are {', '.join(wide)} "
                       "(quantize to int8 with --quant int8)")
    weights = sorted({x.dtype for x in t if x.constant and x.index not in own
                      and x.dtype not in EIGHT_BIT | {"int32"}})
    if weights:
        reasons.append(f"not fully 8-bit: constant tensors are {', '.join(weights)}")
    dyn = [x for x in t if dynamic(x)]
    if dyn:
        shape = "x".join(map(str, dyn[0].shape_signature))
        reasons.append(f"dynamic shapes: {len(dyn)} tensors, e.g. {dyn[0].name!r} is {shape}; "
                       "convert with a fixed input size")
    ranked = [x for x in acts if bad_rank(x.shape)]
    if ranked:
        shape = "x".join(map(str, ranked[0].shape))
        reasons.append(f"tensor rank: {len(ranked)} tensors, e.g. {ranked[0].name!r} {shape}, "
                       "have a dimension above 1 outside the 3 innermost")
    return reasons


def _cache_warning(params: int, cache: int) -> str:
    return (f"parameters ({params / 2**20:.1f} MiB) exceed the {cache / 2**20:.0f} MiB on-chip cache: "
            f"{(params - cache) / 2**20:.1f} MiB will stream from the host on every inference")


def _check_compiled(graph: TFLiteGraph, cache: int) -> TpuReport:
    """A graph edgetpu_compiler already wrote: its Edge TPU ops and the ops it left on the CPU."""
    verdicts = tuple(OpVerdict(op.index, op.opcode, op.opcode == EDGETPU_OP,
                               "" if op.opcode == EDGETPU_OP else "left on the CPU by edgetpu_compiler",
                               Placement.TPU if op.opcode == EDGETPU_OP else Placement.CPU) for op in graph.ops)
    params = sum(op.custom_bytes for op in graph.ops if op.opcode == EDGETPU_OP)
    cpu = [v.opcode for v in verdicts if not v.on_tpu]
    warnings = [f"compiled for the Edge TPU: {len(verdicts) - len(cpu)} Edge TPU op(s) holding "
                f"{params:,} bytes of program and parameters; {len(cpu)} ops run on the CPU"
                + (f" ({', '.join(sorted(set(cpu)))})" if cpu else "")]
    if params > cache:
        warnings.append(_cache_warning(params, cache))
    first = next((v.index for v in verdicts if not v.on_tpu), None)
    return TpuReport(True, (), tuple(warnings), verdicts, first, params, cache, max(0, params - cache), True)


def check_graph(graph: TFLiteGraph, param_cache_bytes: int = ON_CHIP_PARAM_BYTES) -> TpuReport:
    """Apply every Edge TPU rule to ``graph`` and partition it as edgetpu_compiler 16 would."""
    if graph.compiled_for_edgetpu:
        return _check_compiled(graph, param_cache_bytes)
    t = graph.tensors
    problems = [op_problem(op, graph) for op in graph.ops]
    places = partition(graph, problems)
    if Placement.TPU not in places:  # no Edge TPU op at all: nothing is "before" it
        places = [Placement.CPU] * len(places)
    verdicts = [OpVerdict(op.index, op.opcode, place is Placement.TPU,
                          problem or ("" if place is Placement.TPU else "downstream of an op that runs on the CPU"),
                          place)
                for op, problem, place in zip(graph.ops, problems, places, strict=True)]
    first = next((i for i, p in enumerate(problems) if p), None)
    reasons = _model_reasons(graph)
    if first is not None:
        reasons.append(_downstream_note(graph, verdicts, first))
    tpu_consts = {i for op, v in zip(graph.ops, verdicts, strict=True) if v.on_tpu
                  for i in op.inputs if i >= 0 and t[i].constant}
    params = sum(t[i].data_bytes for i in tpu_consts)
    streamed = max(0, params - param_cache_bytes)
    warnings = [_cache_warning(params, param_cache_bytes)] if streamed else []
    if any(x.shape_signature and x.shape_signature[0] < 0 and not dynamic(x) for x in t):
        warnings.append("the batch dimension is dynamic; the Edge TPU runs it fixed at 1")
    return TpuReport(not reasons, tuple(reasons), tuple(warnings), tuple(verdicts), first, params,
                     param_cache_bytes, streamed)
