"""The ``{model}.tflite.json`` sidecar the converter writes: preprocessing and labels. Optional."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError


@dataclass(frozen=True)
class Sidecar:
    """Preprocessing is ``(x[..., channel_order] - mean) / std`` on pixels in ``input_range``."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channel_order: str = "RGB"
    labels: tuple[str, ...] = ()
    path: Path | None = None

    def preprocess(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.channel_order.upper() == "BGR" and x.ndim and x.shape[-1] == 3:
            x = x[..., ::-1]
        if self.mean is not None:
            x = x - np.asarray(self.mean, dtype=np.float32)
        if self.std is not None:
            x = x / np.asarray(self.std, dtype=np.float32)
        return x


def sidecar_path(model: str | Path) -> Path:
    return Path(f"{model}.json")


def read_sidecar(model: str | Path) -> Sidecar:
    """The sidecar next to ``model``, or an empty one (no preprocessing, no labels) when there is none."""
    path = sidecar_path(model)
    if not path.is_file():
        return Sidecar()
    try:
        doc = json.loads(path.read_text())
        pre = doc.get("preprocess") or {}
        order = str(pre.get("channel_order", "RGB")).upper()
        if order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be RGB or BGR, got {order!r}")
        mean, std = pre.get("mean"), pre.get("std")
        return Sidecar(tuple(map(float, mean)) if mean is not None else None,
                       tuple(map(float, std)) if std is not None else None,
                       order, tuple(str(x) for x in doc.get("labels") or ()), path)
    except (ValueError, TypeError, AttributeError, OSError) as err:
        raise ModelFileError(f"sidecar {str(path)!r} is not valid: {err}; fix or delete it") from None
