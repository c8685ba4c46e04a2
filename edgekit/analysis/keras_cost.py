"""Cost of a Keras model, read from the built model object (duck-typed: this module never imports Keras)."""

from __future__ import annotations

from math import prod

from edgekit.analysis import macs as M
from edgekit.analysis.cost_report import CostReport, LayerCost
from edgekit.analysis.memory import peak_live_bytes
from edgekit.errors import UsageError

_ELEMENTWISE = {"BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU",
                "Softmax", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Rescaling",
                "Normalization"}
_POOLING = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
            "AveragePooling3D"}
_GLOBAL_POOLING = {"GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
                   "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"}


def _class_names(layer) -> set[str]:
    return {cls.__name__ for cls in type(layer).__mro__}


def _shape(tensor) -> tuple[int, ...]:
    """Per-sample shape; a model with dynamic spatial dimensions cannot be costed."""
    dims = tuple(tensor.shape[1:])
    if any(d is None for d in dims):
        raise UsageError(f"the model's shape {tuple(tensor.shape)} is not fully known; pass --input-size N "
                         "(a zoo model or a .keras/.h5 file), or build it with a fixed input size")
    return tuple(int(d) for d in dims)


def _leaf_costs(layer, ins: list[tuple[int, ...]], out: tuple[int, ...], name: str) -> list[LayerCost]:
    """One layer call: its MACs (split for separable convolutions) and elementwise ops."""
    classes, layer_type = _class_names(layer), type(layer).__name__
    # a keras.ops call in a functional graph (``x + 3``) is an Operation, not a Layer: no weights, no ``built``
    params = int(layer.count_params()) if getattr(layer, "built", False) and hasattr(layer, "count_params") else 0
    fused = prod(out) if getattr(layer, "activation", None) is not None and \
        getattr(layer.activation, "__name__", "linear") != "linear" else 0
    if "SeparableConv" in layer_type or classes & {"SeparableConv1D", "SeparableConv2D", "BaseSeparableConv"}:
        k = tuple(layer.depthwise_kernel.shape)  # (*kernel, in, multiplier)
        inner = k[-2] * k[-1]
        dw = M.depthwise_macs(out[:-1], k[-2], k[:-2], k[-1])
        pw = M.pointwise_macs(out[:-1], out[-1], inner)
        dw_params = prod(k)
        return [LayerCost(f"{name}/depthwise", "SeparableConv2D.depthwise", (*out[:-1], inner), dw_params, dw),
                LayerCost(f"{name}/pointwise", "SeparableConv2D.pointwise", out, params - dw_params, pw, fused)]
    if "DepthwiseConv2D" in classes or "BaseDepthwiseConv" in classes:
        k = tuple(layer.kernel.shape)  # (*kernel, in, multiplier)
        return [LayerCost(name, layer_type, out, params, M.depthwise_macs(out[:-1], k[-2], k[:-2], k[-1]), fused)]
    if "BaseConvTranspose" in classes or "Conv2DTranspose" in classes:
        k = tuple(layer.kernel.shape)  # (*kernel, out, in)
        macs = M.transpose_conv_macs(ins[0][:-1], k[-1], k[:-2], k[-2])
        return [LayerCost(name, layer_type, out, params, macs, fused)]
    if "BaseConv" in classes or "Conv2D" in classes:
        k = tuple(layer.kernel.shape)  # (*kernel, in/groups, out)
        return [LayerCost(name, layer_type, out, params, M.conv_macs(out[:-1], k[-1], k[:-2], k[-2]), fused)]
    if "Dense" in classes:
        k = tuple(layer.kernel.shape)  # (in, units)
        return [LayerCost(name, layer_type, out, params, M.dense_macs(prod(out[:-1]), k[-1], k[0]), fused)]
    if classes & _POOLING:
        return [LayerCost(name, layer_type, out, params, 0, prod(out) * prod(layer.pool_size))]
    if classes & _GLOBAL_POOLING:
        return [LayerCost(name, layer_type, out, params, 0, prod(ins[0]))]
    if classes & _ELEMENTWISE:
        return [LayerCost(name, layer_type, out, params, 0, prod(out) * max(1, len(ins) - 1))]
    return [LayerCost(name, layer_type, out, params, 0)]


def _own_graph(model):
    """The functional graph that runs when ``model`` is called: a Sequential keeps one inside (``_functional``)."""
    graph = getattr(model, "_functional", None) or model
    if not getattr(graph, "_nodes_by_depth", None):
        raise UsageError(f"cannot read the graph of {type(model).__name__} {model.name!r}: expected a "
                         "Sequential or functional Keras model (a subclassed model has no graph to read)")
    return graph


def _is_model(layer) -> bool:
    return bool(getattr(layer, "_functional", None) or getattr(layer, "_nodes_by_depth", None))


def _calls(model) -> list:
    """Every layer call (Keras node) of ``model``'s own graph, in execution order, inputs first.

    A layer's ``_inbound_nodes`` also hold calls made in other graphs (a Sequential calls its layers once to
    build and once more in its internal functional graph; a layer can be reused in another model), so only
    the nodes of this graph are read: each call counts once, and a shared layer called twice counts twice.
    """
    by_depth = _own_graph(model)._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _layer_costs(model) -> list[LayerCost]:
    rows: list[LayerCost] = []
    seen: dict[int, int] = {}
    for node in _calls(model):
        layer = node.operation
        if "InputLayer" in _class_names(layer):
            continue
        if _is_model(layer):  # a nested model is one call here: count the calls of its own graph
            rows.extend(_layer_costs(layer))
            continue
        seen[id(layer)] = seen.get(id(layer), 0) + 1
        name = layer.name if seen[id(layer)] == 1 else f"{layer.name}/call{seen[id(layer)]}"
        ins = [_shape(t) for t in node.input_tensors]
        outs = [_shape(t) for t in node.output_tensors]
        rows.extend(_leaf_costs(layer, ins, outs[0] if outs else (), name))
    return rows


def _graph(model) -> tuple[list[tuple[list[int], list[int], int]], dict[int, int], list[int], list[int]]:
    """The top-level graph in execution order: (input ids, output ids, extra bytes) per op, plus sizes."""
    graph = _own_graph(model)
    by_depth = graph._nodes_by_depth
    sizes: dict[int, int] = {}
    ops = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if "InputLayer" in _class_names(node.operation):
                continue
            for t in list(node.input_tensors) + list(node.output_tensors):
                sizes[id(t)] = prod(_shape(t)) * _itemsize(t)
            extra = 0
            if _is_model(node.operation):
                inner = _peak(node.operation)
                extra = max(0, inner - sum(sizes[id(t)] for t in node.input_tensors)
                            - sum(sizes[id(t)] for t in node.output_tensors))
            ops.append(([id(t) for t in node.input_tensors], [id(t) for t in node.output_tensors], extra))
    for t in list(graph.inputs) + list(graph.outputs):
        sizes[id(t)] = prod(_shape(t)) * _itemsize(t)
    return ops, sizes, [id(t) for t in graph.inputs], [id(t) for t in graph.outputs]


def _itemsize(tensor) -> int:
    return {"float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1, "int16": 2}.get(
        str(getattr(tensor, "dtype", "float32")), 4)


def _peak(model) -> int:
    ops, sizes, inputs, outputs = _graph(model)
    return peak_live_bytes(ops, sizes, inputs, outputs)


def analyze_keras(model, name: str | None = None, source: str = "keras") -> CostReport:
    """Count params, MACs, elementwise ops and peak activation memory of a built Keras model.

    Layers nested in sub-models are counted; a separable convolution gives a depthwise and a pointwise row.
    """
    if not getattr(model, "inputs", None):
        raise UsageError("the Keras model is not built; build it on a fixed input shape first")
    layers = _layer_costs(model)
    params = int(model.count_params())
    trainable = int(sum(prod(w.shape) for w in model.trainable_weights))
    return CostReport(
        model=name or model.name, source=source, input_shape=_shape(model.inputs[0]), params=params,
        trainable_params=trainable, macs=sum(r.macs for r in layers), weight_bytes=4 * params,
        activation_peak_bytes=_peak(model), elementwise_ops=sum(r.elementwise_ops for r in layers),
        layers=tuple(layers),
    )
