"""MACs by layer kind: standard convolution, depthwise, pointwise (1x1) and dense.

The split the MobileNet paper argues with: a depthwise-separable block replaces one standard convolution by a
depthwise and a pointwise one. Works on a ``.tflite`` graph, and on a built Keras model (duck-typed: this
module never imports Keras).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from edgekit.analysis.tflite_cost import _op_macs
from edgekit.analysis.tflite_graph import TFLiteGraph


class LayerKind(str, Enum):
    CONV = "standard conv"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise (1x1)"
    DENSE = "dense"


KIND_NAMES: tuple[str, ...] = tuple(k.value for k in LayerKind)


class KindRow(NamedTuple):
    index: int  # position among the MAC-carrying layers
    name: str
    kind: LayerKind
    macs: int


def _conv_kind(kernel: tuple[int, ...]) -> LayerKind:
    return LayerKind.POINTWISE if all(k == 1 for k in kernel) else LayerKind.CONV


def kinds_tflite(graph: TFLiteGraph) -> list[KindRow]:
    """One row per convolution and dense op of a ``.tflite`` graph, in execution order."""
    t = graph.tensors
    rows: list[KindRow] = []
    for op in graph.ops:
        if op.opcode == "CONV_2D":
            kind = _conv_kind(t[op.inputs[1]].shape[1:3])  # weights [out, kh, kw, in]
        elif op.opcode == "DEPTHWISE_CONV_2D":
            kind = LayerKind.DEPTHWISE
        elif op.opcode == "FULLY_CONNECTED":
            kind = LayerKind.DENSE
        else:
            continue
        name = t[op.outputs[0]].name if op.outputs else f"op_{op.index}"
        rows.append(KindRow(len(rows), name, kind, _op_macs(op, t)))
    return rows


def kinds_keras(model, report) -> list[KindRow]:
    """The same rows for a built Keras model, with MACs from ``analyze_keras``'s ``report``."""
    by_name = {layer.name: layer for layer in _leaves(model)}
    rows: list[KindRow] = []
    for cost in report.layers:
        if not cost.macs:
            continue
        layer = by_name.get(cost.name.split("/")[0])
        names = {cls.__name__ for cls in type(layer).__mro__} if layer is not None else set()
        if cost.type.endswith(".depthwise") or "DepthwiseConv2D" in names:
            kind = LayerKind.DEPTHWISE
        elif cost.type.endswith(".pointwise"):
            kind = LayerKind.POINTWISE
        elif "Dense" in names:
            kind = LayerKind.DENSE
        else:
            kind = _conv_kind(tuple(getattr(layer, "kernel_size", (3, 3))))
        rows.append(KindRow(len(rows), cost.name, kind, cost.macs))
    return rows


def _leaves(model) -> list:
    out = []
    for layer in model.layers:
        out += _leaves(layer) if getattr(layer, "layers", None) else [layer]
    return out


def totals(rows: list[KindRow]) -> dict[str, int]:
    """MACs per kind, every kind present (0 when absent), in LayerKind order."""
    return {k.value: sum(r.macs for r in rows if r.kind is k) for k in LayerKind}
