"""What a study reports besides its measurements: the seed's arithmetic, computed by edgekit.analysis; the
per-layer MACs of VGG-16 and MobileNet v2 by layer kind; and published ImageNet top-1, cited, kept apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgekit.analysis import macs as M
from edgekit.models.registry import FIGURES

BREAKDOWN_MODELS = ("vgg16", "mobilenetv2")
# Published ImageNet top-1 accuracy (%) of each architecture as its authors or Keras trained it, from the model
# registry. Never measured here, never mixed with measured accuracy: the report shows it in its own column with
# the source.
PUBLISHED_TOP1 = {m.value: (f.top1_pct, f.top1_source) for m, f in FIGURES.items() if f.top1_pct is not None}
_NO_TOP1 = {m.value: f.top1_source for m, f in FIGURES.items() if f.top1_pct is None}


def published(models: list[str]) -> dict:
    """``{model: {"top1_pct": float | None, "source": str}}`` for the models studied."""
    out = {}
    for m in models:
        value, source = PUBLISHED_TOP1.get(m, (None, _NO_TOP1.get(m, "no published figure known to edgekit")))
        out[m] = {"top1_pct": value, "source": source}
    return out


def seed_arithmetic() -> dict:
    """The course notes' two examples, recomputed with edgekit.analysis.macs.

    A 3x3 convolution from a 6x6x3 input to 4x4x5 (valid padding), then the same as depthwise + pointwise;
    and a 5x5 convolution from 28x28x192 to 28x28x32, then through a 1x1 bottleneck of 16 channels.
    """
    standard = M.conv_macs((4, 4), 5, (3, 3), 3)
    depthwise = M.depthwise_macs((4, 4), 3, (3, 3))
    pointwise = M.pointwise_macs((4, 4), 5, 3)
    direct = M.conv_macs((28, 28), 32, (5, 5), 192)
    squeeze = M.pointwise_macs((28, 28), 16, 192)
    expand = M.conv_macs((28, 28), 32, (5, 5), 16)
    return {
        "separable": {"input": [6, 6, 3], "output": [4, 4, 5], "kernel": [3, 3], "standard": standard,
                      "depthwise": depthwise, "pointwise": pointwise, "separable": depthwise + pointwise,
                      "ratio": round(standard / (depthwise + pointwise), 3)},
        "bottleneck": {"input": [28, 28, 192], "output": [28, 28, 32], "kernel": [5, 5], "bottleneck_channels": 16,
                       "direct": direct, "squeeze_1x1": squeeze, "conv_5x5": expand, "bottlenecked": squeeze + expand,
                       "ratio": round(direct / (squeeze + expand), 3)},
    }


def layer_breakdown(model: str, tflite: str | Path | None, cache_dir: Path) -> dict:
    """Per-layer MACs by kind for one zoo model: from its ``.tflite`` when the study converted it, else from the
    Keras build (imports TensorFlow). Cached as JSON in ``cache_dir`` so that a re-run needs neither."""
    from edgekit import __version__
    from edgekit.analysis.kinds import kinds_keras, kinds_tflite, totals

    cached = cache_dir / f"layers_{model}.json"
    try:
        doc = json.loads(cached.read_text())
        if doc.get("edgekit") == __version__:
            return doc
    except (OSError, ValueError):
        pass
    if tflite is not None:
        from edgekit.analysis import read_tflite

        rows, source = kinds_tflite(read_tflite(tflite)), "tflite"
    else:
        from edgekit.analysis import analyze_keras
        from edgekit.models import build

        keras_model = build(model)
        rows, source = kinds_keras(keras_model, analyze_keras(keras_model, name=model)), "keras"
    doc = {"model": model, "source": source, "edgekit": __version__, "totals": totals(rows),
           "total_macs": sum(r.macs for r in rows),
           "layers": [{"index": r.index, "name": r.name, "kind": r.kind.value, "macs": r.macs} for r in rows]}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(doc))
    except OSError:
        pass  # a cache that cannot be written is skipped
    return doc
