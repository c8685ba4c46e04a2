"""Fast tier: MAC arithmetic, the flatbuffer parser and liveness, with no TensorFlow."""

from __future__ import annotations

import random

import pytest

from edgekit.analysis import analyze_tflite, parse_tflite, read_tflite
from edgekit.analysis import macs as M
from edgekit.analysis.memory import peak_live_bytes
from edgekit.errors import ModelFileError
from tests.conftest import DATA


def test_seed_standard_vs_depthwise_separable():
    # 6x6x3 input, 3x3 kernels, valid padding -> 4x4 output.
    assert M.conv_macs((4, 4), 5, (3, 3), 3) == 2160
    assert M.depthwise_macs((4, 4), 3, (3, 3)) == 432
    assert M.pointwise_macs((4, 4), 5, 3) == 240


def test_seed_inception_bottleneck():
    naive = M.conv_macs((28, 28), 32, (5, 5), 192)
    reduce = M.pointwise_macs((28, 28), 16, 192)
    conv5 = M.conv_macs((28, 28), 32, (5, 5), 16)
    assert naive == 120_422_400
    assert (reduce, conv5, reduce + conv5) == (2_408_448, 10_035_200, 12_443_648)


def test_grouped_and_transposed_conv_macs():
    assert M.conv_macs((8, 8), 8, (3, 3), 4, groups=2) == 64 * 8 * 9 * 2
    assert M.transpose_conv_macs((4, 4), 8, (3, 3), 4) == 16 * 8 * 9 * 4


@pytest.mark.parametrize("name, macs", [("seed_standard", 2160), ("seed_separable", 432 + 240)])
def test_seed_numbers_from_tflite_files(name, macs):
    report = analyze_tflite(DATA / f"{name}.tflite")
    assert report.macs == macs
    assert report.trainable_params is None and report.source == "tflite"


def test_every_mac_op_kind_in_a_flatbuffer():
    report = analyze_tflite(DATA / "mixed_ops.tflite")
    by_type = {row.type: row.macs for row in report.layers if row.macs}
    assert by_type == {"CONV_2D": 64 * 8 * 9 * 2, "DEPTHWISE_CONV_2D": 16 * 8 * 9, "TRANSPOSE_CONV": 16 * 8 * 9 * 4,
                       "FULLY_CONNECTED": 256 * 6}
    assert report.input_shape == (8, 8, 4)


def test_int8_file_reports_stored_bytes_and_quantization():
    report = analyze_tflite(DATA / "conv_head_int8.tflite")
    graph = read_tflite(DATA / "conv_head_int8.tflite")
    assert graph.tensors[graph.inputs[0]].dtype == "int8"
    assert graph.tensors[graph.inputs[0]].scale and graph.tensors[graph.inputs[0]].zero_point
    assert report.stored_weight_bytes < report.weight_bytes / 2  # int8 weights, int32 biases
    assert report.macs == 7 * 7 * 8 * 27 + 8 * 10


def test_liveness_frees_tensors_after_last_use():
    # a -> op0 -> b -> op1 -> c ; a also feeds op2 (a residual) -> d
    sizes = {"a": 10, "b": 100, "c": 1, "d": 5}
    ops = [(["a"], ["b"], 0), (["b"], ["c"], 0), (["a", "c"], ["d"], 0)]
    assert peak_live_bytes(ops, sizes, ["a"], ["d"]) == 10 + 100 + 1
    ops_no_residual = [(["a"], ["b"], 0), (["b"], ["c"], 0), (["c"], ["d"], 0)]
    assert peak_live_bytes(ops_no_residual, sizes, ["a"], ["d"]) == 10 + 100


@pytest.mark.parametrize("cut", [0, 4, 8, 100, 500, 1000])
def test_truncated_flatbuffer_is_refused(cut):
    buf = (DATA / "mixed_ops.tflite").read_bytes()[:cut]
    with pytest.raises(ModelFileError):
        parse_tflite(buf)


def test_random_corruption_never_escapes_as_another_exception():
    original = (DATA / "mixed_ops.tflite").read_bytes()
    rng = random.Random(1234)
    for _ in range(400):
        buf = bytearray(original)
        for _ in range(rng.randint(1, 16)):
            buf[rng.randrange(8, len(buf))] = rng.randrange(256)
        try:
            parse_tflite(bytes(buf))
        except ModelFileError:
            pass


def test_missing_file():
    with pytest.raises(ModelFileError, match="not found"):
        read_tflite(DATA / "nope.tflite")
