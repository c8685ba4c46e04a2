"""``cost_of``: the cost report of whatever the user names, a zoo model, a Keras file, a SavedModel or a
``.tflite`` file (an :class:`edgekit.models.ref.ModelRef`). Only the zoo, Keras and SavedModel paths load
TensorFlow, and only when taken.
"""

from __future__ import annotations

from edgekit.analysis import CostReport, analyze_graph, analyze_keras, analyze_tflite, parse_tflite
from edgekit.errors import UsageError
from edgekit.models.ref import ModelKind, ModelRef
from edgekit.models.registry import get_spec


def cost_of(model: str, input_size: int | None = None, classes: int | None = None,
            **arch_args) -> CostReport:
    """Analyse a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder or a ``.tflite`` file."""
    ref = ModelRef.parse(model).check_args(input_size=input_size, classes=classes, **arch_args)
    ref.require_tensorflow(command="info", keras_will_do=True)
    if ref.kind is ModelKind.ZOO:
        from edgekit.models import build

        spec = get_spec(ref.given)
        keras_model = build(spec.name, input_shape=input_size, classes=classes, **arch_args)
        return analyze_keras(keras_model, name=spec.name.value, source="zoo")
    if ref.kind is ModelKind.TFLITE:
        return analyze_tflite(ref.path)
    if ref.kind is ModelKind.SAVEDMODEL:
        from converters.savedmodel import savedmodel_to_tflite_bytes

        graph = parse_tflite(savedmodel_to_tflite_bytes(ref.path, input_size), repr(model))
        _refuse_unknown_size(graph, model)
        return _replace_source(analyze_graph(graph, ref.name), "savedmodel")
    from edgekit.models import load_model
    from edgekit.models.io import with_input_size

    keras_model = with_input_size(load_model(ref.path), input_size, label=repr(model))
    report = analyze_keras(keras_model, name=ref.name)
    return _replace_source(report, "keras", file_bytes=ref.path.stat().st_size)


def _refuse_unknown_size(graph, model: str) -> None:
    """A converted graph whose input height or width is dynamic (-1) would be counted at 1x1: refuse it."""
    first = graph.tensors[graph.inputs[0]] if graph.inputs else None
    signature = first.shape_signature if first is not None else ()
    if len(signature) == 4 and -1 in signature[1:3]:
        h, w = ("None" if d == -1 else d for d in signature[1:3])
        raise UsageError(f"{model!r}: the input size is unknown ({h} x {w}); pass --input-size N "
                         "(e.g. --input-size 224) to count it at NxN")


def _replace_source(report: CostReport, source: str, **changes) -> CostReport:
    from dataclasses import replace

    return replace(report, source=source, **changes)
