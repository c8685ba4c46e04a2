"""Accuracy for ``edgekit study --data``: train a small-input variant of each architecture with edgekit's training
library, convert it per quant mode, and score each ``.tflite`` on the validation split with edgekit.runtime.

ImageNet-size models stay random-weight cost models; their rows say "not measured". Trained models, their
conversions and their scores are cached, so a re-run trains and scores nothing it already has.

A user's model is not trained: when its output width equals the data's label count, it is scored as given, with
``edgekit eval``'s evaluator (:func:`edgekit.models.evaluate.evaluate`), on the data's held-out split (digits'
fixed test set; a folder whole, as edgekit cannot know which of its images the model was trained on): the float
Keras model once, and each ``.tflite`` (converted here, or given) on its row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgekit.study.plan import models_dir

SPLIT = "val"  # the validation subset the training held out (same seed and split), never trained on
USER_SPLIT = "test"  # a user's model: digits' fixed held-out set, or the whole folder (edgekit eval's default)


def small_input(model: str) -> int:
    """32x32, or the architecture's smallest input when that is larger (AlexNet 67, Inception v3 75)."""
    from edgekit.models.registry import get_spec

    return max(32, get_spec(model).min_size)


def train_small(model: str, source, path: Path, size: int, epochs: int | None, say) -> dict:
    """Train (or reuse) ``model`` at ``size`` on ``source``; returns the training summary."""
    from edgekit.models import trained

    info = trained.read(path) if path.is_file() else None
    if info is None:
        from edgekit.models.train import TrainConfig, train

        say(f"training {model} at {size}x{size} on {source.describe()}"
            + (f" for {epochs} epochs" if epochs else ""))
        path.parent.mkdir(parents=True, exist_ok=True)
        train(TrainConfig(model, source, path, input_size=size, epochs=epochs, force=True))
        info = trained.read(path)
    doc = info.document
    return {"model": model, "path": str(path), "input_shape": doc["input_shape"], "data": doc["data"]["source"],
            "epochs": len(doc["history"].get("epoch", [])) or doc["recipe"]["epochs"],
            "train_samples": doc["data"]["train_samples"], "val_samples": doc["data"]["val_samples"],
            "keras_val_accuracy_pct": round(100 * doc["val_accuracy"], 2) if doc.get("val_accuracy") is not None
            else None, "seconds": doc["seconds"]}


def convert_trained(keras_path: Path, quant: str, source, samples: int, out: Path):
    """The trained model as ``quant``, calibrated on the same data, with its training preprocessing."""
    from converters import convert
    from edgekit.models import trained

    info = trained.read(keras_path)
    calibration = "digits" if source.origin == "digits" else str(source.path)
    return convert(str(keras_path), quant, calibration=calibration, samples=samples, output=out, force=True,
                   preprocess=info.preprocess, labels=list(info.labels), notify=lambda _m: None)


def evaluate(tflite: Path, digest: str, source, keras_path: Path) -> dict:
    """Top-1 accuracy (%) of ``tflite`` on the validation split; cached by the file's content."""
    return _cached(f"{digest}:{source.describe()}:{SPLIT}", lambda: _score(tflite, source, keras_path))


def _cached(key: str | None, work) -> dict:
    """``work()``'s score, kept in the study's accuracy cache under ``key`` (None: not cached)."""
    if key is None:
        return work()
    cache = models_dir() / "accuracy.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = work()
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=1))
    return known[key]


def label_count(source) -> int:
    """The data's classes: digits' 10, a folder's class subfolders (as ``edgekit.data.folder.scan`` counts them)."""
    if source.origin == "digits":
        from edgekit.data.digits import CLASS_NAMES

        return len(CLASS_NAMES)
    return sum(1 for p in Path(source.path).iterdir() if p.is_dir() and not p.name.startswith("."))


def label_mismatch(name: str, graph, source) -> str | None:
    """None when the model (its ``.tflite`` graph) gives one score per class of ``source``; else the one line
    that says why its accuracy is not measured."""
    shapes = [graph.tensors[i].shape for i in graph.outputs]
    labels = label_count(source)
    if len(shapes) == 1 and len(shapes[0]) == 2 and shapes[0][1] == labels:
        return None
    width = f"{shapes[0][1]} outputs" if len(shapes) == 1 and len(shapes[0]) == 2 else \
        f"output shape(s) {', '.join(str(list(s)) for s in shapes)}"
    return f"{name} gives {width} but {source.describe()} has {labels} labels"


def split_text(source) -> str:
    return ("the held-out test split of digits" if source.origin == "digits"
            else f"the whole folder {source.describe()} (edgekit cannot know which images trained the model)")


def score_user(path: Path, digest: str | None, source, preprocess=None, what: str = "this .tflite") -> dict:
    """Top-1 accuracy (%) of the user's model as given (a ``.keras`` in float, or a ``.tflite``) on the held-out
    split, with edgekit eval's evaluator; cached by the file's content (``digest``; None: not cached).
    ``preprocess``: :func:`edgekit.models.evaluate.evaluate`'s, for a Keras model."""
    from edgekit.models.evaluate import evaluate as evaluate_models

    pre = preprocess(path) if preprocess is not None and Path(path).suffix != ".tflite" else None

    def work() -> dict:
        result = evaluate_models([str(path)], source, USER_SPLIT, preprocess=preprocess)[0]
        note = (f"{split_text(source)} ({result.samples} images): the user's model as given, not trained here; "
                f"{what} scored with edgekit eval's evaluator")
        return {"accuracy_pct": round(100 * result.scores.top1, 2), "images": result.samples, "note": note}

    key = None if digest is None else (f"user:{digest}:{source.describe()}:{USER_SPLIT}:"
                                       f"{pre.to_dict() if pre is not None else None}")
    return _cached(key, work)


def _score(tflite: Path, source, keras_path: Path) -> dict:
    from edgekit.models import trained
    from edgekit.models.datasets import eval_data
    from edgekit.runtime import load

    info = trained.read(keras_path)
    h, w, c = info.document["input_shape"]
    data = eval_data(source, SPLIT, (h, w), c, info.val_split, info.seed)
    model = load(tflite, threads=1)
    hits = sum(int(np.argmax(model.predict(x)) == y) for x, y in zip(data.x, data.y, strict=True))
    epochs = len(info.document["history"].get("epoch", []))
    note = (f"{SPLIT} split of {source.describe()} ({len(data.y)} images), {h}x{w}x{c} variant trained "
            f"{epochs} epochs by edgekit train, scored on this .tflite with edgekit.runtime")
    return {"accuracy_pct": round(100 * hits / len(data.y), 2), "images": len(data.y), "note": note}
