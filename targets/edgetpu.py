"""The Edge TPU's model requirements, in one place: ``edgekit check`` and the Edge TPU estimator both use it.

Rules (coral.ai/docs/edgetpu/models-intro, "Model requirements" and "Supported operations"):
- every activation tensor is 8-bit (int8 or uint8); constant int32 tensors (biases, shapes, axes) are fine;
- shapes are constant at compile time (a dynamic batch alone is fixed at 1 by the converter or compiler);
- tensors are 1-, 2- or 3-D; above 3-D only the 3 innermost dimensions may be larger than 1;
- only the supported ops run on the TPU, and the compiler partitions once: the first op that cannot run
  there, and every op after it, runs on the host CPU;
- about 8 MiB of on-chip memory caches parameters; the rest stream from the host on every inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.analysis.tflite_graph import OpInfo, TensorInfo, TFLiteGraph

SUPPORTED_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS", "FULLY_CONNECTED",
    "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MUL", "PACK", "PAD",
    "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE",
    "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
    "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
    "HARD_SWISH", "DEPTH_TO_SPACE", "GATHER", "UNPACK",
})
EIGHT_BIT = frozenset({"int8", "uint8"})
ON_CHIP_PARAM_BYTES = 8 << 20


@dataclass(frozen=True)
class OpVerdict:
    index: int
    opcode: str
    on_tpu: bool
    why_not: str = ""  # empty when the op can run on the TPU


@dataclass(frozen=True)
class TpuReport:
    """What the Edge TPU makes of a graph."""

    compatible: bool  # every requirement met and every op maps to the TPU
    reasons: tuple[str, ...]  # why it is not compatible (empty when it is)
    warnings: tuple[str, ...]
    ops: tuple[OpVerdict, ...]
    first_unsupported: int | None  # index of the op that splits the graph, None if none does
    param_bytes_on_tpu: int
    param_cache_bytes: int
    streamed_param_bytes: int = field(default=0)

    @property
    def tpu_ops(self) -> int:
        return len(self.ops) if self.first_unsupported is None else self.first_unsupported

    def to_dict(self) -> dict:
        return {"compatible": self.compatible, "reasons": list(self.reasons), "warnings": list(self.warnings),
                "ops_total": len(self.ops), "ops_on_tpu": self.tpu_ops, "first_unsupported": self.first_unsupported,
                "param_bytes_on_tpu": self.param_bytes_on_tpu, "param_cache_bytes": self.param_cache_bytes,
                "streamed_param_bytes": self.streamed_param_bytes,
                "ops": [{"index": v.index, "opcode": v.opcode, "on_tpu": v.on_tpu, "why_not": v.why_not}
                        for v in self.ops]}


def _shape_of(t: TensorInfo) -> str:
    return "x".join(str(d) for d in (t.shape_signature or t.shape))


def bad_rank(shape: tuple[int, ...]) -> bool:
    """True when a tensor breaks the rank rule: above 3-D, a dimension outside the innermost 3 exceeds 1."""
    return len(shape) > 3 and any(d > 1 for d in shape[:-3])


def dynamic(t: TensorInfo, batch_ok: bool = True) -> bool:
    """True when a dimension is -1 in the shape signature (the batch dimension excepted if ``batch_ok``)."""
    dims = t.shape_signature[1:] if batch_ok else t.shape_signature
    return any(d < 0 for d in dims)


def _op_problem(op: OpInfo, tensors: tuple[TensorInfo, ...]) -> str:
    if op.opcode not in SUPPORTED_OPS:
        return f"{op.opcode} is not supported on the Edge TPU"
    for i in op.inputs + op.outputs:
        if i < 0:
            continue
        t = tensors[i]
        if not t.constant and t.dtype not in EIGHT_BIT:
            return f"tensor {t.name!r} is {t.dtype}, not 8-bit"
        if t.constant and t.dtype not in EIGHT_BIT | {"int32"}:
            return f"constant {t.name!r} is {t.dtype}, not 8-bit"
        if not t.constant and bad_rank(t.shape):
            return f"tensor {t.name!r} is {_shape_of(t)}: above 3-D only the 3 innermost dims may exceed 1"
        if dynamic(t):
            return f"tensor {t.name!r} has a dynamic shape {_shape_of(t)}"
    return ""


def _model_reasons(graph: TFLiteGraph) -> list[str]:
    t = graph.tensors
    reasons = []
    acts = [x for x in t if not x.constant]
    wide = sorted({x.dtype for x in acts if x.dtype not in EIGHT_BIT | {"int32"}})
    if wide:  # int32 activations are shape arithmetic: the op rule below reports where they split the graph
        n = sum(x.dtype not in EIGHT_BIT | {"int32"} for x in acts)
        reasons.append(f"not fully 8-bit: {n} of {len(acts)} activation tensors are {', '.join(wide)} "
                       "(quantize to int8 with --quant int8)")
    weights = sorted({x.dtype for x in t if x.constant and x.dtype not in EIGHT_BIT | {"int32"}})
    if weights:
        reasons.append(f"not fully 8-bit: constant tensors are {', '.join(weights)}")
    dyn = [x for x in t if dynamic(x)]
    if dyn:
        reasons.append(f"dynamic shapes: {len(dyn)} tensors, e.g. {dyn[0].name!r} is {_shape_of(dyn[0])}; "
                       "convert with a fixed input size")
    ranked = [x for x in acts if bad_rank(x.shape)]
    if ranked:
        reasons.append(f"tensor rank: {len(ranked)} tensors, e.g. {ranked[0].name!r} {_shape_of(ranked[0])}, "
                       "have a dimension above 1 outside the 3 innermost")
    return reasons


def check_graph(graph: TFLiteGraph, param_cache_bytes: int = ON_CHIP_PARAM_BYTES) -> TpuReport:
    """Apply every Edge TPU rule to ``graph``."""
    t = graph.tensors
    verdicts, first = [], None
    for op in graph.ops:
        problem = _op_problem(op, t) if first is None else "after the first unsupported op"
        if problem and first is None:
            first = op.index
        verdicts.append(OpVerdict(op.index, op.opcode, not problem, problem))
    reasons = _model_reasons(graph)
    if first is not None:
        rest = len(graph.ops) - first
        reasons.append(f"op {first} ({graph.ops[first].opcode}) cannot run on the Edge TPU: "
                       f"{verdicts[first].why_not}; it and the {rest - 1} ops after it run on the CPU "
                       f"({first} of {len(graph.ops)} ops on the TPU)")
    on_tpu = {i for op in graph.ops[:first] for i in op.inputs if i >= 0 and t[i].constant}
    params = sum(t[i].data_bytes for i in on_tpu)
    streamed = max(0, params - param_cache_bytes)
    warnings = []
    if streamed:
        warnings.append(f"parameters ({params / 2**20:.1f} MiB) exceed the {param_cache_bytes / 2**20:.0f} MiB "
                        f"on-chip cache: {streamed / 2**20:.1f} MiB will stream from the host on every inference")
    batch = [x for x in t if x.shape_signature and x.shape_signature[0] < 0 and not dynamic(x)]
    if batch:
        warnings.append("the batch dimension is dynamic; the Edge TPU runs it fixed at 1")
    return TpuReport(not reasons, tuple(reasons), tuple(warnings), tuple(verdicts), first, params,
                     param_cache_bytes, streamed)
