"""Cost of a ``.tflite`` model, read from its flatbuffer (no TensorFlow)."""

from __future__ import annotations

from math import prod
from pathlib import Path

from edgekit.analysis import macs as M
from edgekit.analysis.cost_report import CostReport, LayerCost
from edgekit.analysis.memory import peak_live_bytes
from edgekit.analysis.tflite_graph import OpInfo, TensorInfo, TFLiteGraph, read_tflite

_ELEMENTWISE = {"ADD", "SUB", "MUL", "DIV", "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "SOFTMAX",
                "HARD_SWISH", "LEAKY_RELU", "PRELU", "MAXIMUM", "MINIMUM", "QUANTIZE", "DEQUANTIZE"}
_POOLS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}


def _op_macs(op: OpInfo, t: tuple[TensorInfo, ...]) -> int:
    """MACs of one op; 0 for ops that are not convolutions or dense layers."""
    out = t[op.outputs[0]].shape if op.outputs else ()
    if op.opcode == "CONV_2D":
        w = t[op.inputs[1]].shape  # [out, kh, kw, in/groups]
        return out[0] * M.conv_macs(out[1:3], out[3], w[1:3], w[3])
    if op.opcode == "DEPTHWISE_CONV_2D":
        w = t[op.inputs[1]].shape  # [1, kh, kw, out]
        return out[0] * M.depthwise_macs(out[1:3], w[3], w[1:3])
    if op.opcode == "FULLY_CONNECTED":
        w = t[op.inputs[1]].shape  # [units, in]
        return M.dense_macs(prod(out[:-1]), w[0], w[1])
    if op.opcode == "TRANSPOSE_CONV":
        w, x = t[op.inputs[1]].shape, t[op.inputs[2]].shape  # [out, kh, kw, in], [n, h, w, in]
        return x[0] * M.transpose_conv_macs(x[1:3], x[3], w[1:3], w[0])
    return 0


def _op_elementwise(op: OpInfo, t: tuple[TensorInfo, ...]) -> int:
    if not op.outputs:
        return 0
    out = prod(t[op.outputs[0]].shape)
    if op.opcode in _ELEMENTWISE:
        return out
    if op.opcode in _POOLS or op.opcode == "MEAN":
        return prod(t[op.inputs[0]].shape)
    return 0


def analyze_graph(graph: TFLiteGraph, name: str) -> CostReport:
    t = graph.tensors
    rows = []
    for op in graph.ops:
        params = sum(prod(t[i].shape) for i in op.inputs if i >= 0 and t[i].constant)
        out = t[op.outputs[0]] if op.outputs else None
        rows.append(LayerCost(out.name if out else f"op_{op.index}", op.opcode, out.shape if out else (),
                              params, _op_macs(op, t), _op_elementwise(op, t)))
    const = [x for x in t if x.constant]
    params = sum(prod(x.shape) for x in const)
    sizes = {x.index: x.nbytes for x in t if not x.constant}
    ops = [([i for i in op.inputs if i >= 0], list(op.outputs), 0) for op in graph.ops]
    first = t[graph.inputs[0]].shape if graph.inputs else ()
    return CostReport(
        model=name, source="tflite", input_shape=tuple(first[1:]), params=params, trainable_params=None,
        macs=sum(r.macs for r in rows), weight_bytes=4 * params,
        activation_peak_bytes=peak_live_bytes(ops, sizes, graph.inputs, graph.outputs),
        elementwise_ops=sum(r.elementwise_ops for r in rows), layers=tuple(rows), file_bytes=graph.file_bytes,
        stored_weight_bytes=sum(x.data_bytes for x in const),
    )


def analyze_tflite(path: str | Path) -> CostReport:
    """Count params, MACs (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV) and memory of a file."""
    path = Path(path)
    return analyze_graph(read_tflite(path), path.stem)
