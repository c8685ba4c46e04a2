"""The sidecar ``{out}.json``: everything the runtime needs to feed the model, and where it came from."""

from __future__ import annotations

import json
import time
from importlib import metadata as importlib_metadata

from converters.cache import tf_version
from converters.source import Source
from edgekit import __version__
from edgekit.analysis import TFLiteGraph
from edgekit.models.registry import Preprocess
from edgekit.models.weights import keras_cache_dir
from edgekit.quant_modes import QuantConfig

FORMAT = "edgekit-convert/1"


def tensors(graph: TFLiteGraph, indices: tuple[int, ...]) -> list[dict]:
    out = []
    for i in indices:
        t = graph.tensors[i]
        out.append({"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
                    "scale": t.scale[0] if len(t.scale) == 1 else list(t.scale) or None,
                    "zero_point": t.zero_point[0] if len(t.zero_point) == 1 else list(t.zero_point) or None})
    return out


def versions() -> dict:
    try:
        keras = importlib_metadata.version("keras")
    except importlib_metadata.PackageNotFoundError:
        keras = None
    return {"tensorflow": tf_version(), "keras": keras, "edgekit": __version__}


def imagenet_labels(src: Source) -> list[str] | None:
    """ImageNet class names, when a zoo model carries ImageNet weights and Keras has the index cached."""
    if src.kind != "zoo" or not src.build_args.get("weights") or src.build_args.get("classes") != 1000:
        return None
    index = keras_cache_dir() / "imagenet_class_index.json"
    try:
        doc = json.loads(index.read_text())
        return [doc[str(i)][1] for i in range(1000)]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def sidecar(src: Source, config: QuantConfig, graph: TFLiteGraph, preprocess: Preprocess | None,
            labels: list[str] | None, cost: dict, calibration: dict, fidelity: dict | None,
            seconds: float) -> dict:
    spec = config.spec
    return {
        "format": FORMAT,
        "model": src.name,
        "source": {"kind": src.kind, "path": str(src.path) if src.path else None, "sha256": src.digest,
                   "build_args": src.build_args or None},
        "mode": config.tag,
        "quantization": {"mode": config.mode.value, "weights": spec.weights, "activations": spec.activations,
                         "io": config.io, "float_io": config.float_io},
        "inputs": tensors(graph, graph.inputs),
        "outputs": tensors(graph, graph.outputs),
        "preprocess": preprocess.to_dict() if preprocess else None,
        "labels": labels,
        "params": cost["params"],
        "macs": cost["macs"],
        "calibration": calibration,
        "fidelity": fidelity,
        "conversion_seconds": round(seconds, 3),
        "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
