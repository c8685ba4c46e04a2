"""Turn raw pixels into model input: presets and the ``--preprocess`` syntax for user models.

Raw pixels are float32 RGB (or grey) in 0..255. A :class:`Preprocess` maps them to ``input_range``, reorders
channels, then computes ``(x - mean) / std``. ``--preprocess`` takes a preset name or ``mean=...,std=...``
with optional ``order=BGR`` and ``range=LO:HI``; lists are separated by ``/``, e.g.
``mean=123.7/116.3/103.5,std=58.4/57.1/57.4``.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import UsageError, unknown_name
from edgekit.models.registry import CAFFE_PREPROCESS, TF_PREPROCESS, Preprocess

PRESETS: dict[str, Preprocess] = {
    "tf": TF_PREPROCESS,  # [-1, 1]: MobileNets, Inception
    "caffe": CAFFE_PREPROCESS,  # BGR, ImageNet mean subtracted: VGG, ResNet-50
    # Written on the 0..255 scale, so a reader that ignores input_range still feeds the model correctly.
    "torch": Preprocess(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)),
    "unit": Preprocess(mean=(0.0,), std=(255.0,)),  # [0, 1]
    "raw": Preprocess(mean=(0.0,), std=(1.0,)),  # [0, 255] as is
}


def parse_preprocess(text: str) -> Preprocess:
    """A preset name (tf, caffe, torch, unit, raw) or ``mean=..,std=..[,order=RGB|BGR][,range=LO:HI]``."""
    text = text.strip()
    if "=" not in text:
        if text.lower() not in PRESETS:
            raise unknown_name("preprocessing preset", text, PRESETS)
        return PRESETS[text.lower()]
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in ("mean", "std", "order", "range") or not value:
            raise UsageError(f"--preprocess: cannot read {part!r}; expected mean=A[/B/C], std=A[/B/C], "
                             "order=RGB|BGR, range=LO:HI, or a preset: " + ", ".join(PRESETS))
        fields[key.strip()] = value.strip()
    try:
        mean = tuple(float(v) for v in fields.get("mean", "0").split("/"))
        std = tuple(float(v) for v in fields.get("std", "1").split("/"))
        lo, hi = (float(v) for v in fields.get("range", "0:255").split(":"))
    except ValueError:
        raise UsageError(f"--preprocess: numbers expected in {text!r}") from None
    order = fields.get("order", "RGB").upper()
    if order not in ("RGB", "BGR"):
        raise UsageError(f"--preprocess: order must be RGB or BGR, got {order!r}")
    if any(s == 0 for s in std) or len(mean) not in (1, 3) or len(std) not in (1, 3) or hi <= lo:
        raise UsageError(f"--preprocess: need 1 or 3 means and non-zero stds, and range LO < HI; got {text!r}")
    return Preprocess(mean=mean, std=std, channel_order=order, input_range=(lo, hi))


def apply(pixels: np.ndarray, pre: Preprocess) -> np.ndarray:
    """Raw 0..255 pixels (N, H, W, C) to model input, as float32 (see ``Preprocess.apply``)."""
    return pre.apply(pixels)
