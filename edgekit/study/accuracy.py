"""Accuracy for ``edgekit study --data``: train a small-input variant of each architecture with edgekit's training
library, convert it per quant mode, and score each ``.tflite`` on the validation split with edgekit.runtime.

ImageNet-size models stay random-weight cost models; their rows say "not measured". Trained models, their
conversions and their scores are cached, so a re-run trains and scores nothing it already has.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgekit.study.plan import models_dir

SPLIT = "val"  # the validation subset the training held out (same seed and split), never trained on


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
    calibration = "digits" if source.kind == "digits" else str(source.path)
    return convert(str(keras_path), quant, calibration=calibration, samples=samples, output=out, force=True,
                   preprocess=info.preprocess, labels=list(info.labels), notify=lambda _m: None)


def evaluate(tflite: Path, digest: str, source, keras_path: Path) -> dict:
    """Top-1 accuracy (%) of ``tflite`` on the validation split; cached by the file's content."""
    cache = models_dir() / "accuracy.json"
    key = f"{digest}:{source.describe()}:{SPLIT}"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = _score(tflite, source, keras_path)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=1))
    return known[key]


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
