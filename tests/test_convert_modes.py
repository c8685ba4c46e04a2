"""Each post-training mode stores what it promises: tensor types read back through the LiteRT runtime and the
flatbuffer. A small MobileNet v2 (alpha 0.35, 96x96) keeps this quick; the full-size int8 acceptance run is
in test_convert_mobilenet.py."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from edgekit.analysis import read_tflite

pytestmark = pytest.mark.tf
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weight_dtypes(path, min_elements: int = 0) -> set[str]:
    """The stored dtype of every conv/dense weight, looking through DEQUANTIZE (how fp16 weights are kept)."""
    g = read_tflite(path)
    made_by = {out: op for op in g.ops for out in op.outputs}
    found = set()
    for op in g.ops:
        if op.opcode in WEIGHTED:
            t = op.inputs[1]
            if t in made_by and made_by[t].opcode == "DEQUANTIZE":
                t = made_by[t].inputs[0]
            if np.prod(g.tensors[t].shape) >= min_elements:
                found.add(g.tensors[t].dtype)
    return found


def io_dtypes(path) -> tuple[str, str]:
    it = Interpreter(model_path=str(path))
    return np.dtype(it.get_input_details()[0]["dtype"]).name, np.dtype(it.get_output_details()[0]["dtype"]).name


@pytest.fixture(scope="module")
def converted(tmp_path_factory, tf):
    """fp32, fp16, dynamic and int16x8 conversions of one small MobileNet v2, in one process."""
    import os

    from converters import convert

    out = tmp_path_factory.mktemp("modes")
    os.environ["EDGEKIT_CACHE_DIR"] = str(out / "cache")
    return {m: convert("mobilenetv2", m, input_size=96, alpha=0.35, output=out / f"{m}.tflite", samples=8)
            for m in ("fp32", "fp16", "dynamic", "int16x8")}


def test_fp32_is_float_throughout(converted):
    r = converted["fp32"]
    assert weight_dtypes(r.path) == {"float32"} and io_dtypes(r.path) == ("float32", "float32")
    assert r.fidelity.cosine > 0.9999


def test_fp16_stores_float16_weights_at_about_half_the_size(converted):
    r, base = converted["fp16"], converted["fp32"]
    assert weight_dtypes(r.path) == {"float16"}
    assert io_dtypes(r.path) == ("float32", "float32")
    assert 0.45 <= r.size_bytes / base.size_bytes <= 0.55
    assert r.path.stat().st_size == r.size_bytes


def test_dynamic_stores_int8_weights_with_float_io(converted):
    r = converted["dynamic"]
    # TF's dynamic-range mode leaves weights under 1024 elements in float (its documented threshold).
    assert weight_dtypes(r.path, min_elements=1024) == {"int8"}
    assert r.size_bytes < 0.3 * converted["fp32"].size_bytes
    assert io_dtypes(r.path) == ("float32", "float32")
    assert r.metadata["quantization"] == {"mode": "dynamic", "weights": "int8", "activations": "float32",
                                          "io": "float32", "float_io": False}


def test_int16x8_has_int16_activations(converted):
    r = converted["int16x8"]
    g = read_tflite(r.path)
    conv_outputs = {g.tensors[op.outputs[0]].dtype for op in g.ops if op.opcode in WEIGHTED}
    assert conv_outputs == {"int16"}
    assert weight_dtypes(r.path) == {"int8"}
    assert r.metadata["calibration"]["samples"] == 8


def test_every_mode_reports_fidelity_and_writes_a_sidecar(converted):
    import json

    for mode, r in converted.items():
        side = json.loads(r.sidecar_path.read_text())
        assert side["mode"] == mode and side["source"]["kind"] == "zoo" and len(side["source"]["sha256"]) == 64
        assert side["preprocess"] == {"mean": [127.5], "std": [127.5], "channel_order": "RGB",
                                      "input_range": [0.0, 255.0]}
        assert side["inputs"][0]["shape"] == [1, 96, 96, 3] and side["outputs"][0]["shape"] == [1, 1000]
        assert side["params"] > 300_000 and side["macs"] > 1_000_000
        assert set(side["versions"]) == {"tensorflow", "keras", "edgekit"} and side["versions"]["tensorflow"]
        assert side["conversion_seconds"] > 0
        f = side["fidelity"]
        assert f["samples"] == 8 and -1 <= f["cosine"] <= 1 and 0 <= f["top1_agreement"] <= 1
        assert f == r.fidelity.to_dict()
    # Lossier modes drift further from float; fp32 barely at all.
    sq = {m: converted[m].fidelity.sqnr_db for m in converted}
    assert sq["fp32"] > sq["fp16"] > 20 and sq["fp32"] > sq["dynamic"] > 10


def test_cached_repeat_is_the_same_file_and_skips_tensorflow_work(converted, tmp_path):
    from converters import convert

    r = convert("mobilenetv2", "dynamic", input_size=96, alpha=0.35, output=tmp_path / "again.tflite", samples=8)
    assert r.cached and r.path.read_bytes() == converted["dynamic"].path.read_bytes()
    fresh = convert("mobilenetv2", "dynamic", input_size=96, alpha=0.35, output=tmp_path / "fresh.tflite",
                    samples=8, use_cache=False)
    assert not fresh.cached
