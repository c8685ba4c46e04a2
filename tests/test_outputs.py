"""bench.outputs: the fixed input and the comparison --check-outputs reports (fast tier)."""

from __future__ import annotations

import numpy as np

from bench.outputs import compare, disagreement, encode, fixed_input, run_fixed
from tests.conftest import DATA


def _out(values, dtype, scale=0.0):
    a = np.asarray(values, dtype=dtype).reshape(1, -1)
    return encode(a, {"name": "y", "quantization": (scale, 0)})


def test_the_fixed_input_is_the_same_bytes_every_time_and_spans_the_range():
    detail = {"shape": [1, 8, 8, 3], "dtype": np.int8}
    a, b = fixed_input(detail), fixed_input(detail)
    assert a.dtype == np.int8 and a.shape == (1, 8, 8, 3) and np.array_equal(a, b)
    assert a.min() < -100 and a.max() > 100
    f = fixed_input({"shape": [2, 5], "dtype": np.float32})
    assert f.dtype == np.float32 and -1 <= f.min() < -0.5 and 0.5 < f.max() <= 1
    # first values by hand: (i * 2654435761) % 65536 / 65535 * 2 - 1
    want = [((i * 2654435761) % 65536) / 65535 * 2 - 1 for i in range(3)]
    np.testing.assert_allclose(f.ravel()[:3], want, rtol=1e-6)


def test_int8_outputs_count_quantization_steps():
    here, there = _out([-128, 5, 90, 7], np.int8, 0.5), _out([-128, 6, 90, 7], np.int8, 0.5)
    report = compare([here], [there])
    assert report == {"max_abs_diff": 0.5, "max_diff_steps": 1, "max_relative": None, "top1_agree": True}
    assert disagreement(report) is None
    far = compare([here], [_out([-128, 5, 87, 100], np.int8, 0.5)])
    assert far["max_diff_steps"] == 93 and far["top1_agree"] is False
    text = disagreement(far)
    assert "93 quantization steps (allowed 1)" in text and "a different top-1 class" in text and "46.5" in text


def test_float_outputs_use_a_relative_tolerance():
    here = _out([0.1, 0.7, 0.2], np.float32)
    close = compare([here], [_out([0.1, 0.70001, 0.2], np.float32)])
    assert close["max_diff_steps"] is None and close["max_relative"] < 1e-4 and disagreement(close) is None
    off = compare([here], [_out([0.1, 0.7, 0.21], np.float32)])
    assert 0.014 < off["max_relative"] < 0.015 and "relative 0.014 (allowed 0.0001)" in disagreement(off)


def test_run_fixed_on_a_real_model_is_reproducible():
    from edgekit.runtime import load

    outs = [run_fixed(load(DATA / "tiny_int8.tflite", threads=1).interpreter) for _ in range(2)]
    report = compare(*outs)
    assert report["max_diff_steps"] == 0 and report["max_abs_diff"] == 0 and report["top1_agree"] is True
