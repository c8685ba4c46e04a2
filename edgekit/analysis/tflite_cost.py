"""Cost of a ``.tflite`` model, read from its flatbuffer (no TensorFlow)."""

from __future__ import annotations

from math import prod
from pathlib import Path

from edgekit.analysis.cost_report import CostReport, LayerCost
from edgekit.analysis.memory import peak_live_bytes
from edgekit.analysis.tflite_graph import OpInfo, TensorInfo, TFLiteGraph, read_tflite
from edgekit.analysis.tflite_macs import op_macs

_ELEMENTWISE = {"ADD", "SUB", "MUL", "DIV", "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "SOFTMAX",
                "HARD_SWISH", "LEAKY_RELU", "PRELU", "MAXIMUM", "MINIMUM", "QUANTIZE", "DEQUANTIZE"}
_POOLS = {"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"}


def _op_macs(op: OpInfo, t: tuple[TensorInfo, ...]) -> int:
    """MACs of one op, 0 where they are not counted (see :func:`tflite_macs.op_macs` for the None case)."""
    return op_macs(op, t)[0] or 0


def _op_elementwise(op: OpInfo, t: tuple[TensorInfo, ...]) -> int:
    if not op.outputs or op.outputs[0] < 0 or op.custom:
        return 0
    out = prod(t[op.outputs[0]].shape)
    if op.opcode in _ELEMENTWISE:
        return out
    if (op.opcode in _POOLS or op.opcode == "MEAN") and op.inputs and op.inputs[0] >= 0:
        return prod(t[op.inputs[0]].shape)
    return 0


def analyze_graph(graph: TFLiteGraph, name: str) -> CostReport:
    t = graph.tensors
    rows = []
    for op in graph.ops:
        params = sum(prod(t[i].shape) for i in op.inputs if i >= 0 and t[i].constant)
        out = t[op.outputs[0]] if op.outputs and op.outputs[0] >= 0 else None
        macs, note = op_macs(op, t)
        rows.append(LayerCost(out.name if out else f"op_{op.index}", op.opcode, out.shape if out else (),
                              params, macs, _op_elementwise(op, t), note))
    const = [x for x in t if x.constant]
    params = sum(prod(x.shape) for x in const)
    sizes = {x.index: x.nbytes for x in t if not x.constant}
    ops = [([i for i in op.inputs if i >= 0], [i for i in op.outputs if i >= 0], 0) for op in graph.ops]
    first = t[graph.inputs[0]].shape if graph.inputs else ()
    return CostReport(
        model=name, source="tflite", input_shape=tuple(first[1:]), params=params, trainable_params=None,
        macs=sum(r.macs or 0 for r in rows), weight_bytes=4 * params,
        activation_peak_bytes=peak_live_bytes(ops, sizes, graph.inputs, graph.outputs),
        elementwise_ops=sum(r.elementwise_ops for r in rows), layers=tuple(rows), file_bytes=graph.file_bytes,
        stored_weight_bytes=sum(x.data_bytes for x in const),
        not_counted=tuple(r.type for r in rows if r.macs is None),
    )


def analyze_tflite(path: str | Path) -> CostReport:
    """Count params, MACs (every op that multiplies: ``tflite_macs.RULES``) and memory of a ``.tflite`` file."""
    path = Path(path)
    return analyze_graph(read_tflite(path), path.stem)
