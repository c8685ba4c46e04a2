"""edgekit.runtime on the tiny committed models: quantize/dequantize, predict, classify, the sidecar."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.runtime import dequantize, load, quantize
from tests.conftest import DATA

X = np.random.default_rng(1).uniform(-1, 1, (16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize(("dtype", "scale", "zero"), [(np.int8, 0.5, -3), (np.uint8, 0.25, 128),
                                                      (np.int16, 1 / 1024, 0)])
def test_quantize_round_trips_and_clips(dtype, scale, zero):
    detail = {"dtype": dtype, "quantization": (scale, zero), "quantization_parameters":
              {"scales": np.array([scale], np.float32), "zero_points": np.array([zero])}}
    x = np.array([0.0, scale, -scale, 3 * scale, 1e9, -1e9], np.float32)
    q = quantize(x, detail)
    info = np.iinfo(dtype)
    assert q.dtype == dtype
    assert q.tolist() == [zero, zero + 1, zero - 1, zero + 3, info.max, info.min]
    np.testing.assert_allclose(dequantize(q[:4], detail), x[:4], rtol=1e-6)
    assert dequantize(q, detail).dtype == np.float32


def test_float_tensors_pass_through():
    detail = {"dtype": np.float32, "quantization": (0.0, 0)}
    np.testing.assert_array_equal(quantize(X, detail), X)
    np.testing.assert_array_equal(dequantize(X, detail), X)


@pytest.fixture(scope="module")
def reference():
    return load(DATA / "tiny_fp32.tflite", threads=1).predict(X)


@pytest.mark.parametrize("mode", ["int8", "uint8", "int16"])
def test_quantized_models_take_float_and_give_float(mode, reference):
    model = load(DATA / f"tiny_{mode}.tflite", threads=1)
    assert np.dtype(model.input_details()[0]["dtype"]) == np.dtype(mode)
    y = model.predict(X)
    assert y.dtype == np.float32 and y.shape == reference.shape
    np.testing.assert_allclose(y, reference, atol=0.01)
    assert abs(float(y.sum()) - 1.0) < 0.03  # softmax survives dequantization


def test_predict_raw_wants_the_model_dtype():
    model = load(DATA / "tiny_int8.tflite", threads=1)
    raw = model.predict_raw(quantize(X, model.input_details()[0]))
    assert raw.dtype == np.int8
    with pytest.raises(UsageError, match="int8"):
        model.predict_raw(X)


def test_classify_uses_sidecar_labels_and_preprocessing(tmp_path):
    path = tmp_path / "m.tflite"
    shutil.copy(DATA / "tiny_fp32.tflite", path)
    plain = load(path).classify(X, top_k=3)
    assert [p.label for p in plain] == [str(i) for i in np.argsort(-load(path).predict(X)[0])[:3]]
    pixels = (X + 1) * 127.5
    labels = [f"class_{i}" for i in range(10)]
    path.with_name("m.tflite.json").write_text(json.dumps({
        "preprocess": {"mean": [127.5], "std": [127.5], "channel_order": "RGB", "input_range": [0, 255]},
        "labels": labels}))
    model = load(path)
    np.testing.assert_allclose(model.predict(pixels), load(DATA / "tiny_fp32.tflite").predict(X), atol=1e-5)
    top = model.classify(pixels, top_k=3)
    assert [p.label for p in top] == [f"class_{p.label}" for p in plain]
    assert top[0].score >= top[1].score >= top[2].score


def test_bgr_sidecar_reverses_channels(tmp_path):
    path = tmp_path / "m.tflite"
    shutil.copy(DATA / "tiny_fp32.tflite", path)
    path.with_name("m.tflite.json").write_text(json.dumps({"preprocess": {"channel_order": "BGR"}}))
    np.testing.assert_allclose(load(path).predict(X[..., ::-1]), load(DATA / "tiny_fp32.tflite").predict(X),
                               atol=1e-6)


def test_wrong_shape_and_bad_threads_are_usage_errors():
    model = load(DATA / "tiny_fp32.tflite")
    with pytest.raises(UsageError, match=r"needs shape \[1, 16, 16, 3\]"):
        model.predict(np.zeros((8, 8, 3), np.float32))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(UsageError, match="threads"):
            load(DATA / "tiny_fp32.tflite", threads=bad)


def test_dynamic_input_is_refused_with_a_fix():
    with pytest.raises(UsageError, match=r"dynamic shape.*fixed input size"):
        load(DATA / "tiny_dynamic.tflite")


def test_backends_in_order_and_edgetpu_names_the_package():
    from edgekit.runtime import get_backend

    assert get_backend().name.value == "ai_edge_litert"
    with pytest.raises(UsageError, match="did you mean"):
        get_backend("ai_edge_litrt")
    with pytest.raises(UsageError, match="libedgetpu1-std"):
        load(DATA / "tiny_int8.tflite", delegate="edgetpu")
