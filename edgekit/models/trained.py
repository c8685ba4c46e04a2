"""The training record ``{model}.keras.json`` that ``edgekit train`` writes beside a trained model. No Keras here.

It holds what a later step needs to feed the model as it was trained: the class names (``labels``), the
preprocessing, the input shape, the data and split it came from, the recipe, the history and the final
validation accuracy. ``edgekit eval`` and the converter read it; the keys ``preprocess`` and ``labels`` are the
same as in the converter's ``.tflite`` sidecar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgekit.atomic import write_atomic
from edgekit.errors import ModelFileError
from edgekit.models.registry import Preprocess

FORMAT = "edgekit-train/1"


@dataclass(frozen=True)
class TrainedInfo:
    preprocess: Preprocess
    labels: tuple[str, ...]
    val_split: float
    seed: int
    document: dict


def record_path(model: str | Path) -> Path:
    return Path(f"{model}.json")


def read(model: str | Path) -> TrainedInfo | None:
    """The training record beside ``model``, or None when there is none (e.g. a model not trained here)."""
    path = record_path(model)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        if doc.get("format") != FORMAT:
            return None
        pre = doc["preprocess"]
        preprocess = Preprocess(tuple(map(float, pre["mean"])), tuple(map(float, pre["std"])),
                                str(pre.get("channel_order", "RGB")), tuple(pre.get("input_range", (0.0, 255.0))))
        data = doc.get("data") or {}
        return TrainedInfo(preprocess, tuple(str(x) for x in doc.get("labels") or ()),
                           float(data.get("val_split", 0.2)), int(data.get("seed", 123)), doc)
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as err:
        raise ModelFileError(f"training record {str(path)!r} is not valid: {err}; fix or delete it") from None


def write_json_atomic(path: Path, document: dict) -> None:
    """Write JSON through a temporary file in the same folder, then rename: never a partial file."""
    write_atomic(path, (json.dumps(document, indent=2, default=str) + "\n").encode(), force=True)
