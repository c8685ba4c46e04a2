"""``cost_of``: the cost report of whatever the user names, a zoo model, a Keras file, a SavedModel or a
``.tflite`` file. Only the zoo, Keras and SavedModel paths load TensorFlow, and only when taken.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.analysis import CostReport, analyze_graph, analyze_keras, analyze_tflite, parse_tflite
from edgekit.errors import ModelFileError, UsageError, unknown_name
from edgekit.models.registry import MODEL_NAMES, get_spec


def looks_like_path(model: str) -> bool:
    return any(c in model for c in "/\\") or Path(model).suffix != "" or Path(model).exists()


def cost_of(model: str, input_size: int | None = None, classes: int | None = None,
            **arch_args) -> CostReport:
    """Analyse a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder or a ``.tflite`` file."""
    if model.lower() in MODEL_NAMES and not Path(model).exists():
        from edgekit.models import build

        spec = get_spec(model)
        keras_model = build(spec.name, input_shape=input_size, classes=classes, **arch_args)
        return analyze_keras(keras_model, name=spec.name.value, source="zoo")
    if not looks_like_path(model):
        raise unknown_name("model", model, MODEL_NAMES)
    given = [f"--{k.replace('_', '-')}" for k, v in {"classes": classes, **arch_args}.items() if v is not None]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise UsageError(f"{', '.join(given)} {verb} to zoo models only; {model!r} is a file whose "
                         "architecture is fixed")
    path = Path(model)
    if input_size is not None and not path.is_dir() and path.suffix not in (".keras", ".h5"):
        raise UsageError(f"--input-size applies to zoo models, and to .keras/.h5 files and SavedModels with an "
                         f"unknown input size; {model!r} is a {path.suffix or 'file'} whose input shape was "
                         "fixed when it was converted")
    if not path.exists():
        raise ModelFileError(f"model file {model!r} not found; check the path")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ModelFileError(f"{model!r} is a folder without saved_model.pb, so not a SavedModel")
        from converters.savedmodel import savedmodel_to_tflite_bytes

        graph = parse_tflite(savedmodel_to_tflite_bytes(path, input_size), repr(model))
        _refuse_unknown_size(graph, model)
        return _replace_source(analyze_graph(graph, path.name), "savedmodel")
    if path.suffix == ".tflite":
        return analyze_tflite(path)
    if path.suffix in (".keras", ".h5"):
        from edgekit.models import load_model
        from edgekit.models.io import with_input_size

        keras_model = with_input_size(load_model(path), input_size, label=repr(model))
        report = analyze_keras(keras_model, name=path.stem)
        return _replace_source(report, "keras", file_bytes=path.stat().st_size)
    raise UsageError(f"cannot analyse {model!r}: expected a zoo model ({', '.join(MODEL_NAMES)}), "
                     "a .keras/.h5 file, a SavedModel folder or a .tflite file")


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
