"""A Keras model's own preprocessing, read from its saved config: what ``--preprocess`` it needs (issue 32).

keras.applications models built with ``include_preprocessing`` (EfficientNet, MobileNet v3, ConvNeXt, ...) and
many user models start with a ``Rescaling`` or ``Normalization`` layer: they take pixels as they are (0..255),
and feeding them pre-scaled input would calibrate int8 on the wrong range. The config is read from the file
(``config.json`` in a ``.keras`` zip, the ``model_config`` attribute of an ``.h5``), so no TensorFlow is needed.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Layers that reshape or augment (identity at inference) and so leave the value range to the next layer.
_PASS_THROUGH = {"InputLayer", "Resizing", "CenterCrop", "Cropping2D", "ZeroPadding2D", "Reshape", "RandomFlip",
                 "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop", "RandomContrast"}
_MODELS = {"Functional", "Sequential", "Model"}


@dataclass(frozen=True)
class OwnPreprocess:
    """``preset`` is the ``--preprocess`` the first layer decides (None: it only suggests); ``why`` names it."""

    preset: str | None
    why: str


def _config(path: Path) -> dict | None:
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as z:
                return json.loads(z.read("config.json"))
        if path.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                text = f.attrs.get("model_config")
            return json.loads(text) if text else None
    except Exception:  # an unreadable config: the model's own loader says what is wrong, later
        return None
    return None


def _first_layer(config: dict) -> dict | None:
    """The first layer that touches the pixel values, looking inside nested models."""
    for layer in (config.get("config") or {}).get("layers") or []:
        class_name = layer.get("class_name")
        if class_name in _MODELS:
            return _first_layer(layer)
        if class_name not in _PASS_THROUGH:
            return layer
    return None


def _numbers(value) -> list[float]:
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if isinstance(v, int | float)]


def _ratio(scale: float) -> str:
    """1/255 for 0.00392..., as the model's author wrote it; else the number."""
    inverse = 1 / scale if scale else 0
    return f"1/{round(inverse * 2) / 2:g}" if abs(inverse) > 1 and abs(inverse * 2 - round(inverse * 2)) < 1e-3 \
        else f"{scale:.4g}"


def _decide(layer: dict) -> OwnPreprocess:
    class_name, cfg = layer.get("class_name"), layer.get("config") or {}
    name = f"the model's first layer {cfg.get('name', '?')!r}"
    if class_name == "Rescaling":
        scale, offset = _numbers(cfg.get("scale")), _numbers(cfg.get("offset"))
        what = f"Rescaling {', '.join(map(_ratio, scale))}" + (f", offset {offset[0]:g}" if any(offset) else "")
        if scale and max(abs(s) for s in scale) < 0.1:  # 1/255, 1/127.5: it expects 0..255
            return OwnPreprocess("raw", f"{name} ({what}) does its own scaling of 0..255 pixels")
        return OwnPreprocess("unit", f"{name} ({what}) expects input in [0, 1]")
    if class_name == "Normalization":
        mean = _numbers(cfg.get("mean"))
        if mean:
            preset, scale = ("raw", "0..255") if max(abs(m) for m in mean) > 1 else ("unit", "[0, 1]")
            return OwnPreprocess(preset, f"{name} (Normalization, mean {'/'.join(f'{m:.4g}' for m in mean)}) "
                                         f"standardizes {scale} pixels itself")
        return OwnPreprocess(None, f"{name} (Normalization, adapted) standardizes its input itself: raw if it "
                                   "was adapted on 0..255 pixels, unit if on [0, 1]")
    return OwnPreprocess(None, f"{name} ({class_name}) does no scaling of its own: unit if the model was trained on "
                               "pixels / 255, tf for [-1, 1]")


def own_preprocess(path: Path) -> OwnPreprocess | None:
    """What the saved Keras model's own first layers say about ``--preprocess``; None if its config is unreadable."""
    config = _config(Path(path))
    layer = _first_layer(config) if config else None
    return _decide(layer) if layer else None
