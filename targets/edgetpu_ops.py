"""Which TFLite ops edgetpu_compiler 16 maps to the Edge TPU, each with its documented constraints.

One record per op in :data:`OPS`; :func:`op_problem` says why one op of a graph cannot be mapped ("" when it
can). Where the partition of a whole graph comes from is ``targets.edgetpu``; docs/edgetpu.md explains both.

Sources, cited beside each rule by their tag:
- [T] coral.ai/docs/edgetpu/models-intro, "Supported operations" (Table 1: op, minimum runtime version, known
  limitations). Compiler 16 emits every op there, the "13+" and "14+" rows included.
- [R] the same page, "Model requirements": 8-bit tensors, constant shapes and parameters, tensors of at most
  3 dimensions (above 3-D only the 3 innermost may exceed 1).
- [I<n>] github.com/google-coral/edgetpu/issues/<n>: what the compiler printed for users' models.

One job over 250 lines: the table of ops the compiler maps, each rule beside the op it checks; split, a
rule and its row would live apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from edgekit.analysis.tflite_graph import OpInfo, TensorInfo, TFLiteGraph

EIGHT_BIT = frozenset({"int8", "uint8"})
SOFTMAX_MAX_ELEMENTS = 16_000  # [T] Softmax: "a max of 16,000 elements"
# TFLite's fused-activation enum (schema.fbs ActivationFunctionType): 0 is NONE.
NO_ACTIVATION = 0


def non_batch(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The dimensions after the batch (a rank-1 shape has no batch)."""
    return shape[1:] if len(shape) > 1 else shape


def bad_rank(shape: tuple[int, ...]) -> bool:
    """[R] True when above 3-D a dimension outside the innermost 3 exceeds 1."""
    return len(shape) > 3 and any(d > 1 for d in shape[:-3])


def dynamic(t: TensorInfo, batch_ok: bool = True) -> bool:
    """[R] True when a dimension is -1 in the shape signature (the batch excepted if ``batch_ok``)."""
    dims = t.shape_signature[1:] if batch_ok else t.shape_signature
    return any(d < 0 for d in dims)


def _shape(t: TensorInfo) -> str:
    return "x".join(str(d) for d in (t.shape_signature or t.shape))


def _in(op: OpInfo, g: TFLiteGraph, k: int = 0) -> TensorInfo | None:
    return g.tensors[op.inputs[k]] if len(op.inputs) > k and op.inputs[k] >= 0 else None


def _out(op: OpInfo, g: TFLiteGraph) -> TensorInfo:
    return g.tensors[op.outputs[0]]


def _axes(t: TensorInfo | None, rank: int) -> tuple[int, ...] | None:
    """The axes a constant holds, made non-negative; None when the file does not say."""
    if t is None or not t.values:
        return None
    return tuple(a % rank if rank else a for a in t.values)


# --- per-op constraints: each returns "" when the op maps, else why not --------------------------------------

def _no_fused_activation(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] AveragePool2d, MaxPool2d, Concatenation: "No fused activation function."
    act = op.options.get("fusedActivationFunction", NO_ACTIVATION)
    return "" if act == NO_ACTIVATION else "a fused activation function is not supported on this op"


def _concatenation(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Concatenation: "If any input is a compile-time constant tensor, there must be only 2 inputs, and this
    # constant tensor must be all zeroes". The zeroes cannot be read from a large buffer here; the count can.
    consts = [i for i in op.inputs if i >= 0 and g.tensors[i].constant]
    if consts and len(op.inputs) != 2:
        return f"a constant input is allowed only with 2 inputs (got {len(op.inputs)})"
    return _no_fused_activation(op, g)


def _same_dilation(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Conv2d, DepthwiseConv2d: "Must use the same dilation in x and y dimensions."
    h, w = op.options.get("dilationHFactor", 1), op.options.get("dilationWFactor", 1)
    return "" if h == w else f"dilation differs in x and y ({w} and {h})"


def _fully_connected(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] FullyConnected: "Only the default format is supported for fully-connected weights. Output tensor is
    # one-dimensional." (weightsFormat 0 is DEFAULT in schema.fbs; the batch of 1 is not a dimension.)
    if op.options.get("weightsFormat", 0) != 0:
        return "only the default weights format is supported"
    out = non_batch(_out(op, g).shape)
    return "" if sum(d > 1 for d in out) <= 1 else f"the output is {_shape(_out(op, g))}, not one-dimensional"


def _not_batch_axis(what: str, *, data_input: int = 0, axis_input: int = 1) -> Callable[[OpInfo, TFLiteGraph], str]:
    """[T] Mean, ReduceMax, ReduceMin, Sum, Split: no reduction/splitting in (or "cannot operate on") the batch
    dimension. The axes come from the constant input ``axis_input`` (SPLIT takes it first)."""
    def check(op: OpInfo, g: TFLiteGraph) -> str:
        data = _in(op, g, data_input)
        axes = _axes(_in(op, g, axis_input), len(data.shape) if data else 0)
        return f"cannot {what} along the batch dimension" if axes and 0 in axes and len(data.shape) > 1 else ""
    return check


def _mean(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Mean (13+): "No reduction in batch dimension. If a z-reduction, the z-dimension must be multiple of 4."
    problem = _not_batch_axis("reduce")(op, g)
    data = _in(op, g)
    axes = _axes(_in(op, g, 1), len(data.shape))
    if not problem and axes and len(data.shape) - 1 in axes and data.shape[-1] % 4:
        problem = f"a reduction over the channels needs a multiple of 4 of them (got {data.shape[-1]})"
    return problem


def _pack(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Pack (13+): "No packing in batch dimension."
    return "cannot pack along the batch dimension" if op.options.get("axis", 0) == 0 else ""


def _pad(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Pad (13+): "No padding in batch dimension."
    data = _in(op, g)
    pads = _in(op, g, 1)
    if pads is not None and len(pads.values) >= 2 and (pads.values[0] or pads.values[1]):
        return "cannot pad the batch dimension"
    return "" if data is None or data.shape[:1] == _out(op, g).shape[:1] else "cannot pad the batch dimension"


def _prelu(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] PReLU (13+): "Alpha must be 1-dimensional (only the innermost dimension can be >1 size)."
    alpha = _in(op, g, 1)
    if alpha is not None and any(d > 1 for d in alpha.shape[:-1]):
        return f"alpha is {_shape(alpha)}: only its innermost dimension may exceed 1 (Keras: shared_axes=[1, 2])"
    return ""


def _resize(op: OpInfo, g: TFLiteGraph) -> str:
    """[T] ResizeBilinear/ResizeNearestNeighbor: "Input/output is a 3-dimensional tensor. Depending on input/output
    size, this operation might not be mapped to the Edge TPU to avoid loss in precision."

    Coral does not publish the size rule. The compiler says "Image-interpolation layer won't run precisely enough
    on Edge TPU" [I63], and upsampling by a whole factor maps [I31, I187] (Keras UpSampling2D, FPN and U-Net
    decoders, YOLO necks). edgekit's reading: each spatial axis is unchanged or scaled by a whole factor, up or
    down, the factor taken between the sample grids that the options define: (out - 1) / (in - 1) with
    align_corners, out / in otherwise. With align_corners a 1-pixel input has no grid to scale (DeepLab's
    image-pooling branch, 1x1 -> 33x33), so it is not mapped.
    """
    data, out = _in(op, g), _out(op, g)
    if data is None or len(data.shape) != 4 or len(out.shape) != 4:
        return "resize needs an NHWC input and output"
    align = bool(op.options.get("alignCorners", False))
    for axis, n_in, n_out in zip(("height", "width"), data.shape[1:3], out.shape[1:3], strict=True):
        if n_in == n_out:
            continue
        if align and n_in == 1:
            return f"align_corners from a 1-pixel {axis} ({n_in} -> {n_out}) has no sample grid to scale"
        a, b = (n_in - 1, n_out - 1) if align else (n_in, n_out)
        if max(a, b) % max(min(a, b), 1):
            return (f"{axis} {n_in} -> {n_out} is not a whole scale factor"
                    f"{' with align_corners' if align else ''}: the interpolation would lose precision")
    return ""


def _softmax(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] Softmax: "Supports only 1-D input tensor with a max of 16,000 elements."
    data = _in(op, g)
    dims = [d for d in non_batch(data.shape) if d > 1] if data else []
    if len(dims) > 1:
        return f"the input is {_shape(data)}: only a 1-D input is supported"
    if data and prod(data.shape) > SOFTMAX_MAX_ELEMENTS:
        return f"the input has {prod(data.shape):,} elements, above {SOFTMAX_MAX_ELEMENTS:,}"
    return ""


def _strided_slice(op: OpInfo, g: TFLiteGraph) -> str:
    # [T] StridedSlice: "Supported only when all strides are equal to 1 (that is, effectively a Stride op), and
    # with ellipsis-axis-mask == 0, and new-axis-max == 0."
    strides = _in(op, g, 3)
    if strides is not None and strides.values and any(s != 1 for s in strides.values):
        return f"strides {list(strides.values)}: only strides of 1 are supported"
    if op.options.get("ellipsisMask", 0) or op.options.get("newAxisMask", 0):
        return "ellipsis_mask and new_axis_mask must be 0"
    return ""


@dataclass(frozen=True)
class OpRule:
    """One op the Edge TPU runs: its TFLite builtin name, the extra constraint, where the rule comes from."""

    opcode: str
    check: Callable[[OpInfo, TFLiteGraph], str] | None = None
    source: str = "[T]"
    lstm: bool = False  # int16 cell state and int32 gate tensors are the op's own, not activations


def _rules(*rules: OpRule) -> dict[str, OpRule]:
    return {r.opcode: r for r in rules}


OPS: dict[str, OpRule] = _rules(
    OpRule("ADD"), OpRule("SUB"), OpRule("MUL"), OpRule("MAXIMUM"), OpRule("MINIMUM"),
    OpRule("SQUARED_DIFFERENCE", source="[T] 14+"), OpRule("RSQRT", source="[T] 14+"),
    OpRule("LOGISTIC"), OpRule("TANH"), OpRule("RELU"), OpRule("RELU6"), OpRule("RELU_N1_TO_1"),
    OpRule("PRELU", _prelu, "[T] 13+"), OpRule("L2_NORMALIZATION"),
    OpRule("AVERAGE_POOL_2D", _no_fused_activation), OpRule("MAX_POOL_2D", _no_fused_activation),
    OpRule("CONCATENATION", _concatenation),
    OpRule("CONV_2D", _same_dilation), OpRule("DEPTHWISE_CONV_2D", _same_dilation, "[T] 13+"),
    OpRule("TRANSPOSE_CONV", source="[T] 13+"), OpRule("FULLY_CONNECTED", _fully_connected),
    # [T] LSTM (14+): "Unidirectional LSTM only". Compiler 16 came with runtime 14 (coral.ai/news/updates-07-2021)
    # and "supports LSTM (Unidirectional only)" [I156]; the TFLite converter writes a Keras LSTM as
    # UNIDIRECTIONAL_SEQUENCE_LSTM, compiled whole in Coral's keras_lstm_mnist_ptq_edgetpu.tflite
    # (github.com/google-coral/test_data). BIDIRECTIONAL_SEQUENCE_LSTM is not listed. Not modelled: the size
    # limit users hit (about 1000 input features fail to compile [I598]).
    OpRule("LSTM", source="[T] 14+", lstm=True), OpRule("UNIDIRECTIONAL_SEQUENCE_LSTM", source="[T] 14+", lstm=True),
    OpRule("MEAN", _mean, "[T] 13+"), OpRule("SUM", _not_batch_axis("reduce"), "[T] 13+"),
    OpRule("REDUCE_MAX", _not_batch_axis("reduce"), "[T] 14+"),
    OpRule("REDUCE_MIN", _not_batch_axis("reduce"), "[T] 14+"),
    OpRule("PAD", _pad, "[T] 13+"), OpRule("PACK", _pack, "[T] 13+"),
    OpRule("RESHAPE"),  # [T] "Certain reshapes might not be mapped for large tensor sizes": not modelled
    OpRule("EXPAND_DIMS", source="[T] 13+"), OpRule("SQUEEZE", source="[T] 13+"),
    OpRule("SLICE"), OpRule("STRIDED_SLICE", _strided_slice),
    OpRule("SPLIT", _not_batch_axis("split", data_input=1, axis_input=0)),
    OpRule("SPACE_TO_DEPTH"), OpRule("TRANSPOSE", source="[T] 14+"),
    OpRule("RESIZE_BILINEAR", _resize), OpRule("RESIZE_NEAREST_NEIGHBOR", _resize),
    OpRule("SOFTMAX", _softmax),
    # [T] Quantize (13+): on the TPU it re-scales 8-bit data (int8 <-> uint8, or a new scale). From or to float
    # it breaks [R]'s 8-bit rule (the compiler's status: "Operation is working on an unsupported data type").
    OpRule("QUANTIZE", source="[T] 13+"),
)


def _tensor_problem(t: TensorInfo) -> str:
    # [R] "Tensor parameters are quantized (8-bit fixed-point numbers; int8 or uint8)"; biases are int32;
    # "Tensor sizes are constant at compile-time"; "Tensors are either 1-, 2-, or 3-dimensional".
    if t.constant:
        return "" if t.dtype in EIGHT_BIT | {"int32"} else f"constant {t.name!r} is {t.dtype}, not 8-bit"
    if t.dtype not in EIGHT_BIT:
        return f"tensor {t.name!r} is {t.dtype}, not 8-bit"
    if bad_rank(t.shape):
        return f"tensor {t.name!r} is {_shape(t)}: above 3-D only the 3 innermost dims may exceed 1"
    if dynamic(t):
        return f"tensor {t.name!r} has a dynamic shape {_shape(t)}"
    return ""


def op_problem(op: OpInfo, graph: TFLiteGraph) -> str:
    """Why ``op`` cannot be mapped to the Edge TPU, or "" when it can."""
    rule = OPS.get(op.opcode)
    if rule is None:
        return f"{op.opcode} is not supported on the Edge TPU"
    # An LSTM keeps int16 cell state and int32 gate tensors inside; its data input and output must be 8-bit.
    checked = (op.inputs[:1] + op.outputs[:1]) if rule.lstm else op.inputs + op.outputs
    for i in checked:
        problem = _tensor_problem(graph.tensors[i]) if i >= 0 else ""
        if problem:
            return problem
    return rule.check(op, graph) if rule.check else ""
