"""``evaluate``: accuracy and cost of trained models on ``digits`` or an image folder.

A ``.keras`` model runs through Keras in inference mode, in batches of 64, fed as its training sidecar says.
A ``.tflite`` model runs through :mod:`edgekit.runtime` one sample at a time, which quantizes the input and
dequantizes the output as the file requires. Time per sample is the wall time of the whole pass divided by
the samples, so it includes preprocessing.

Test-time augmentation (``tta``) averages the scores over views of each image: the image itself, its mirror
image (``flip``) and four corner crops of 7/8 the size scaled back up (``crop``). An ensemble averages the
scores of all the models. Both cost more at inference, and the result says how much: the MACs multiple is
exact (views, or the members' MACs over the best member's), the latency multiple is measured.

One job over 250 lines: scoring models on a split; opening a model, its checks, test-time augmentation and
the ensemble are the steps of that one score, and each is used only by :func:`evaluate`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.data import DataSource
from edgekit.errors import UsageError, unknown_name
from edgekit.metrics import Scores, score
from edgekit.models import trained
from edgekit.models.registry import Preprocess

TTA_NAMES = ("flip", "crop")
BATCH = 64


@dataclass(frozen=True)
class Predictor:
    path: Path
    kind: str  # "keras" or "tflite"
    input_shape: tuple[int, int, int]
    labels: tuple[str, ...]
    macs: int
    run: Callable[[np.ndarray], np.ndarray]  # raw 0..255 pixels (N, H, W, C) -> scores (N, classes)
    timing: str
    val_split: float = 0.2
    seed: int = 123
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Multiple:
    """An accuracy trick next to its inference cost, relative to one plain model."""

    what: str  # e.g. "tta flip (2 views)" or "ensemble of 2"
    scores: Scores
    seconds_per_sample: float
    macs: int
    macs_multiple: float
    latency_multiple: float
    top1_gain: float  # percentage points over the plain model it is compared with
    relative_to: str

    def to_dict(self) -> dict:
        return {"what": self.what, "top1": self.scores.top1, "top5": self.scores.top5,
                "top1_gain_points": round(self.top1_gain, 3), "macs": self.macs,
                "macs_multiple": round(self.macs_multiple, 3), "latency_multiple": round(self.latency_multiple, 3),
                "seconds_per_sample": self.seconds_per_sample, "relative_to": self.relative_to}


@dataclass(frozen=True)
class EvalResult:
    model: str
    kind: str
    samples: int
    labels: tuple[str, ...]
    scores: Scores
    seconds_per_sample: float
    macs: int
    timing: str
    tta: Multiple | None = None
    members: tuple[str, ...] = ()  # set for the ensemble entry
    ensemble: Multiple | None = None

    def to_dict(self) -> dict:
        out = {"model": self.model, "kind": self.kind, "samples": self.samples, "top1": self.scores.top1,
               "top5": self.scores.top5, "per_class": dict(zip(self.labels, self.scores.per_class, strict=True)),
               "labels": list(self.labels), "confusion": [list(r) for r in self.scores.confusion],
               "seconds_per_sample": self.seconds_per_sample, "macs": self.macs, "timing": self.timing}
        if self.tta:
            out["tta"] = self.tta.to_dict()
        if self.members:
            out["members"] = list(self.members)
            out["ensemble"] = self.ensemble.to_dict()
        return out


def evaluate(paths: list[str], data: DataSource, split: str = "test", tta: tuple[str, ...] = (),
             ensemble: bool = False, notify: Callable[[str], None] | None = None,
             preprocess: Callable[[Path], Preprocess | None] | None = None) -> list[EvalResult]:
    """One result per model, in the order given, then the ensemble's when ``ensemble`` is set.

    ``preprocess(path)``: how to feed a ``.keras`` model that has no training record (a model not trained by
    edgekit: ``--preprocess``, or its own first layer's); None refuses such a model."""
    from edgekit.models.datasets import eval_data

    say = notify or (lambda _m: None)
    if ensemble and len(paths) < 2:
        raise UsageError(f"--ensemble averages several models; give two or more, got {len(paths)}")
    predictors = [open_model(p, preprocess) for p in paths]
    loaded: dict[tuple, object] = {}
    results, raw = [], []
    for p in predictors:
        key = (p.input_shape, p.val_split, p.seed)
        if key not in loaded:
            loaded[key] = eval_data(data, split, p.input_shape[:2], p.input_shape[2], p.val_split, p.seed)
            for note in loaded[key].notes:
                say(f"warning: {note}")
        d = loaded[key]
        for note in p.notes:
            say(f"warning: {p.path.name}: {note}")
        _check_labels(p, d.class_names)
        probs, seconds = _timed(p.run, d.x)
        _check_width(p, probs, d.class_names, data)
        base = EvalResult(str(p.path), p.kind, len(d.y), d.class_names, score(probs, d.y), seconds, p.macs,
                          p.timing)
        if tta:
            base = _with_tta(base, p, d, tta)
        results.append(base)
        raw.append((probs, d.y))
    if ensemble:
        results.append(_ensemble(results, raw))
    return results


def parse_tta(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    names = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    for name in names:
        if name not in TTA_NAMES:
            raise unknown_name("--tta transform", name, TTA_NAMES)
    return names


def tta_views(x: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """The identity, then each transform's views, of raw pixels (N, H, W, C)."""
    views = [("identity", x)]
    if "flip" in names:
        views.append(("flip", x[:, :, ::-1, :].copy()))
    if "crop" in names:
        h, w = x.shape[1:3]
        ch, cw = max(1, round(h * 7 / 8)), max(1, round(w * 7 / 8))
        for name, (y0, x0) in (("crop_tl", (0, 0)), ("crop_tr", (0, w - cw)), ("crop_bl", (h - ch, 0)),
                               ("crop_br", (h - ch, w - cw))):
            views.append((name, _resize(x[:, y0:y0 + ch, x0:x0 + cw], (h, w))))
    return views


def open_model(path: str | Path, preprocess: Callable[[Path], Preprocess | None] | None = None) -> Predictor:
    """``preprocess``: as :func:`evaluate`'s, for a ``.keras`` model with no training record."""
    from edgekit.models.ref import ModelKind, ModelRef

    ref = ModelRef.parse(path)
    train = f"edgekit train {ref.given} --data DATA -o {ref.given}.keras"  # a zoo model's weights are random
    ref.require(ModelKind.KERAS, ModelKind.TFLITE, command="eval", make=train if ref.kind is ModelKind.ZOO else None)
    if ref.kind is ModelKind.TFLITE:
        return _open_tflite(ref.path)
    ref.require_tensorflow(command="eval", keras_will_do=True)
    return _open_keras(ref.path, preprocess)


def _open_keras(path: Path, preprocess: Callable[[Path], Preprocess | None] | None = None) -> Predictor:
    from edgekit.analysis import analyze_keras
    from edgekit.models import load_model

    info = trained.read(path)
    pre = info.preprocess if info is not None else preprocess(path) if preprocess is not None else None
    if pre is None:
        raise UsageError(f"{str(path)!r} has no training record {trained.record_path(path).name}, so how to feed "
                         "it is unknown; give --preprocess (tf, caffe, torch, unit, raw), or evaluate models "
                         "written by edgekit train")
    model = load_model(path)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    _check_channels(path, shape)

    def run(x: np.ndarray) -> np.ndarray:
        x = pre.apply(x)
        return np.concatenate([np.asarray(model(x[i:i + BATCH], training=False)) for i in range(0, len(x), BATCH)])

    if info is None:  # the user's own model: no labels, split or seed of its training known here
        return Predictor(path, "keras", shape, (), analyze_keras(model).macs, run, f"keras, batch {BATCH}")
    return Predictor(path, "keras", shape, info.labels, analyze_keras(model).macs, run,
                     f"keras, batch {BATCH}", info.val_split, info.seed)


def _open_tflite(path: Path) -> Predictor:
    from edgekit.analysis import analyze_tflite
    from edgekit.runtime import load

    model = load(path)
    shape = tuple(int(d) for d in model.input_details()[0]["shape"][1:])
    _check_channels(path, shape)
    notes = () if model.sidecar.path else ("no sidecar: pixels are fed as 0..255 without preprocessing",)
    record = _training_record(model.sidecar.path)

    def run(x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(model.predict(x[i:i + 1]), np.float32).reshape(1, -1)
                               for i in range(len(x))])

    return Predictor(path, "tflite", shape, model.labels, analyze_tflite(path).macs, run,
                     "tflite, batch 1", record.val_split if record else 0.2,
                     record.seed if record else 123, notes)


def _training_record(tflite_sidecar: Path | None) -> trained.TrainedInfo | None:
    """The training record of the model a ``.tflite`` was converted from, if it is still there."""
    if tflite_sidecar is None:
        return None
    try:
        source = (json.loads(tflite_sidecar.read_text()).get("source") or {}).get("path")
    except (OSError, ValueError, AttributeError):
        return None
    return trained.read(source) if source else None


def _check_channels(path: Path, shape: tuple) -> None:
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise UsageError(f"{str(path)!r} takes input {list(shape)}; eval needs an (H, W, 1) or (H, W, 3) image input")


def _check_labels(p: Predictor, class_names: tuple[str, ...]) -> None:
    if p.labels and tuple(p.labels) != tuple(class_names):
        raise UsageError(f"{p.path.name} was trained on classes {list(p.labels)[:10]} but the data has "
                         f"{list(class_names)[:10]}; evaluate on data with the same class folders")


def _check_width(p: Predictor, probs: np.ndarray, class_names: tuple[str, ...], data: DataSource) -> None:
    if probs.ndim != 2 or probs.shape[1] != len(class_names):
        width = probs.shape[1] if probs.ndim == 2 else list(probs.shape[1:])
        raise UsageError(f"{p.path.name} gives {width} outputs but {data.describe()} has {len(class_names)} "
                         "classes; evaluate it on data with one class per output")


def _timed(run, x: np.ndarray) -> tuple[np.ndarray, float]:
    run(x[:BATCH])  # warm-up at full batch size: tracing, allocation, caches
    t0 = time.perf_counter()
    probs = run(x)
    return probs, (time.perf_counter() - t0) / max(1, len(x))


def _with_tta(base: EvalResult, p: Predictor, d, names: tuple[str, ...]) -> EvalResult:
    from dataclasses import replace

    views = tta_views(d.x, names)
    t0 = time.perf_counter()
    probs = np.mean([p.run(v) for _, v in views], axis=0)
    seconds = (time.perf_counter() - t0) / max(1, len(d.y))
    scores = score(probs, d.y)
    n = len(views)
    tta = Multiple(f"tta {','.join(names)} ({n} views)", scores, seconds, n * p.macs, float(n),
                   seconds / base.seconds_per_sample, 100 * (scores.top1 - base.scores.top1), base.model)
    return replace(base, tta=tta)


def _ensemble(results: list[EvalResult], raw: list) -> EvalResult:
    y = raw[0][1]
    if any(len(r[1]) != len(y) or not np.array_equal(r[1], y) for r in raw):
        raise UsageError("--ensemble needs models evaluated on the same samples; these were split differently "
                         "(different --seed or --val-split at training)")
    if len({r[0].shape[1] for r in raw}) != 1:
        raise UsageError("--ensemble needs models with the same classes")
    scores = score(np.mean([r[0] for r in raw], axis=0), y)
    best = max(results, key=lambda r: r.scores.top1)
    macs, seconds = sum(r.macs for r in results), sum(r.seconds_per_sample for r in results)
    multiple = Multiple(f"ensemble of {len(results)}", scores, seconds, macs, macs / max(1, best.macs),
                        seconds / best.seconds_per_sample, 100 * (scores.top1 - best.scores.top1), best.model)
    return EvalResult("ensemble", "ensemble", len(y), results[0].labels, scores, seconds, macs,
                      "sum of the members", members=tuple(r.model for r in results), ensemble=multiple)


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(x), *size, x.shape[-1]), np.float32)
    for i, img in enumerate(x):
        for c in range(x.shape[-1]):
            out[i, ..., c] = np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c], np.float32), "F")
                                        .resize((size[1], size[0]), Image.BILINEAR))
    return out
