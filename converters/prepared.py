"""What the float model gives a conversion, taken before the converter runs, and what the converted model gets back.

:func:`prepare_float` builds or loads the float model, takes the calibration and held-out inputs, the float
outputs the fidelity check compares against and the cost figures, writes the model as a SavedModel and lets it go
(TensorFlow's converter then reads the folder). :func:`sidecar_of` checks the converted model against those outputs
and writes its sidecar. A :class:`Prepared` is saved to a folder and read back when the conversion runs in stages
(``converters.stages``), one process each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converters import calibration as cal
from converters.fidelity import compare, output_step, run_tflite
from converters.metadata import imagenet_labels, sidecar
from converters.preprocess import PRESETS, apply
from converters.source import FloatModel, Source, load_float, settle_batchnorm
from edgekit.errors import UsageError
from edgekit.models.registry import Preprocess
from edgekit.quant_modes import QuantConfig

HELD_OUT = 8  # inputs for the fidelity check, never used for calibration
_ARRAYS = ("x_cal", "x_held", "reference")

Notify = Callable[[str], None]  # a warning or a status line for the user


@dataclass(frozen=True)
class Prepared:
    """Everything the float model gives, taken before the converter runs so that the model can be freed."""

    x_cal: np.ndarray | None
    x_held: np.ndarray
    reference: np.ndarray  # the float model's outputs on x_held
    calib: dict
    params: int | None
    macs: int | None
    settled: str | None
    pre: Preprocess | None
    labels: list[str] | None
    per_layer: tuple[dict, ...] = ()

    def save(self, folder: Path) -> None:
        arrays = {k: getattr(self, k) for k in _ARRAYS if getattr(self, k) is not None}
        np.savez(folder / "prepared.npz", **arrays)
        doc = {"calib": self.calib, "params": self.params, "macs": self.macs, "settled": self.settled,
               "pre": self.pre.to_dict() if self.pre else None, "labels": self.labels,
               "per_layer": list(self.per_layer)}
        (folder / "prepared.json").write_text(json.dumps(doc))

    @classmethod
    def load(cls, folder: Path) -> Prepared:
        doc = json.loads((folder / "prepared.json").read_text())
        with np.load(folder / "prepared.npz") as npz:
            arrays = {k: npz[k] if k in npz else None for k in _ARRAYS}
        pre = Preprocess.from_dict(doc["pre"]) if doc["pre"] else None
        return cls(**arrays, calib=doc["calib"], params=doc["params"], macs=doc["macs"], settled=doc["settled"],
                   pre=pre, labels=doc["labels"], per_layer=tuple(doc["per_layer"]))


def require_preprocess(src: Source, config: QuantConfig, pre: Preprocess | None, warn: Notify, *,
                       hint: str | None = None) -> None:
    """Refuse a calibrated mode without preprocessing (int8 ranges depend on it); warn for the others. ``hint``
    is what the model's own first layer suggests (``converters.own_preprocess``)."""
    if pre is not None or src.preprocess is not None:
        return
    if config.spec.calibrated:
        raise UsageError(f"{src.describe()}: say how pixels become model input with --preprocess "
                         f"({', '.join(PRESETS)}, or mean=A,std=B); int8 ranges depend on it"
                         + (f"; {hint}" if hint else ""))
    warn("no --preprocess given: the fidelity check feeds pixels scaled to [0, 1] ('unit'); "
         "the sidecar records no preprocessing")


def prepare_float(src: Source, config: QuantConfig, *, spec: cal.CalibrationSpec, explicit_calibration: bool,
                  samples: int, pre: Preprocess | None, labels: list[str] | None, folder: Path, warn: Notify,
                  say: Notify, guard: Callable[[FloatModel], None] | None = None):
    """Build or load the float model, take a :class:`Prepared` from it, write it to ``folder`` as a SavedModel
    (:func:`converters.tflite.export_batch1`) and free it. Returns ``(prepared, saved_model, fixed)``: the folder
    the converter reads (``src.path`` for a SavedModel source) and, for a SavedModel traced again at
    ``--input-size``, its ``(concrete function, trackable)``. ``guard`` sees the float model first and may refuse it."""
    fm = load_float(src)
    if not explicit_calibration and src.kind != "zoo":
        spec = cal.parse_calibration(None, fm.input_shape[2])
    if guard is not None:
        guard(fm)
    prep = _take(src, fm, config, spec, samples, pre or src.preprocess, labels, warn, say)
    saved_model, fixed = (src.path if fm.keras_model is None else folder), fm.fixed
    if fm.keras_model is not None:
        from converters.tflite import export_batch1

        export_batch1(fm.keras_model, folder)
    del fm  # the converter reads the SavedModel: the float model's weights go before it runs (issue 22)
    if src.kind in ("zoo", "keras"):  # a model we built or loaded (VGG-16 left 10 GB behind in a study
        clear_keras_session()         # that converted model after model)
    return prep, saved_model, fixed


def clear_keras_session() -> None:
    from edgekit.models._keras import keras

    keras().backend.clear_session(free_memory=True)


def _take(src: Source, fm: FloatModel, config: QuantConfig, spec: cal.CalibrationSpec, samples: int,
          pre: Preprocess | None, labels, warn: Notify, say: Notify) -> Prepared:
    n_cal = samples if config.spec.calibrated else 0
    data = cal.load(spec, fm.input_shape, n_cal, HELD_OUT)
    for note in data.notes:
        warn(note)
    feed = pre or PRESETS["unit"]
    x_cal, x_held = apply(data.calibration, feed), apply(data.held_out, feed)
    settled = settle_random_zoo(src, fm, feed, warn)
    reference = _batched(fm, x_held)
    per_layer = ()
    if config.per_layer:
        from converters.debugger import worst_layers

        say("running the quantization debugger (per layer)")
        per_layer = worst_layers(src, fm, x_cal)
    params = macs = None
    if fm.keras_model is not None:
        from edgekit.analysis import analyze_keras

        report = analyze_keras(fm.keras_model, name=src.name)
        params, macs = report.params, report.macs
    calib = {"source": data.source, "samples": len(x_cal), "held_out_source": data.held_out_source,
             "held_out": len(x_held)}
    return Prepared(x_cal if n_cal else None, x_held, reference, calib, params, macs, settled, pre, labels,
                    tuple(per_layer))


def settle_random_zoo(src: Source, fm: FloatModel, pre: Preprocess, warn: Notify) -> str | None:
    """Give a random-initialised zoo model real BatchNorm statistics; see ``settle_batchnorm``."""
    if src.kind != "zoo" or src.build_args.get("weights"):
        return None
    x = apply(cal.photos(fm.input_shape[:2], 8, cal.SEED + 2), pre) if fm.input_shape[2] == 3 \
        else apply(cal.digits(fm.input_shape[:2], 8, cal.SEED), pre)
    if not settle_batchnorm(fm.keras_model, x):
        return None
    what = f"8 built-in {'photos' if fm.input_shape[2] == 3 else 'digits'}"
    warn(f"{src.name} has random weights (no --weights): its BatchNorm statistics were set from {what} "
         "so that activations have realistic ranges")
    return what


def _batched(fm: FloatModel, x: np.ndarray) -> np.ndarray:
    return np.concatenate([fm.run(x[i:i + 8]) for i in range(0, len(x), 8)]) if len(x) else x


def sidecar_of(src: Source, prep: Prepared, model: bytes, config: QuantConfig, seconds: float):
    """The converted model's fidelity against the float outputs, and its sidecar; ``seconds`` is the converter's."""
    from edgekit.analysis import analyze_graph, parse_tflite

    graph = parse_tflite(model, "the converted model")
    fidelity = compare(prep.reference, run_tflite(model, prep.x_held), prep.calib["held_out_source"],
                       output_step(graph))
    cost = {"params": prep.params, "macs": prep.macs}
    if prep.params is None:
        report = analyze_graph(graph, src.name)
        cost = {"params": report.params, "macs": report.macs}
    meta = sidecar(src, config, graph, prep.pre, prep.labels or list(src.labels) or imagenet_labels(src),
                   cost, prep.calib, fidelity.to_dict(), seconds)
    if prep.settled:
        meta["source"]["batchnorm_settled_on"] = prep.settled
    if prep.per_layer:
        meta["per_layer"] = list(prep.per_layer)
    return meta
