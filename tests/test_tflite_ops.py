"""Fast tier: every op that multiplies has a MAC rule; custom and unknown ops are named, never a crash; the
quantization label reads the weights (through DEQUANTIZE). Graphs are built by hand (tests/_tflite_build.py),
and every expected figure is a hand count."""

from __future__ import annotations

import json

import pytest

from edgekit.analysis import analyze_graph, parse_tflite
from edgekit.analysis.quant_label import infer_quant
from edgekit.analysis.tflite_macs import RULES
from tests._tflite_build import Op, T, build
from tests.conftest import DATA, run_cli


def _report(tensors, ops, inputs=(0,), outputs=None):
    outputs = outputs if outputs is not None else [ops[-1].outputs[0]]
    return analyze_graph(parse_tflite(build(tensors, ops, list(inputs), list(outputs))), "m")


def _macs(tensors, op):
    return _report(tensors, [op]).macs


def test_conv_depthwise_dense_transpose():
    # CONV_2D 3x3, 3 -> 5 channels, groups 1, 4x4 output
    assert _macs([T((1, 6, 6, 3)), T((5, 3, 3, 3), const=True), T((1, 4, 4, 5))],
                 Op("CONV_2D", [0, 1, -1], [2])) == 4 * 4 * 5 * (3 * 3 * 3)
    # grouped CONV_2D: the filter holds in/groups = 2 input channels
    assert _macs([T((1, 6, 6, 4)), T((8, 3, 3, 2), const=True), T((1, 4, 4, 8))],
                 Op("CONV_2D", [0, 1, -1], [2])) == 4 * 4 * 8 * (3 * 3 * 2)
    # DEPTHWISE_CONV_2D 3x3, multiplier 2 on 3 channels
    assert _macs([T((1, 6, 6, 3)), T((1, 3, 3, 6), const=True), T((1, 4, 4, 6))],
                 Op("DEPTHWISE_CONV_2D", [0, 1, -1], [2])) == 4 * 4 * 6 * 9
    # FULLY_CONNECTED 16 -> 10, on 2 rows
    assert _macs([T((2, 16)), T((10, 16), const=True), T((2, 10))],
                 Op("FULLY_CONNECTED", [0, 1, -1], [2])) == 2 * 10 * 16
    # TRANSPOSE_CONV 3x3, 4 -> 2 channels, 5x5 input: each input value scattered through 3*3*2 outputs
    assert _macs([T((4,), "int32", const=True), T((2, 3, 3, 4), const=True), T((1, 5, 5, 4)), T((1, 10, 10, 2))],
                 Op("TRANSPOSE_CONV", [0, 1, 2], [3])) == 5 * 5 * 4 * (3 * 3 * 2)


def test_conv3d_and_its_transpose():
    # CONV_3D, filter [KD, KH, KW, I, O] = [2, 3, 3, 4, 6], output 1x3x4x4x6
    assert _macs([T((1, 4, 6, 6, 4)), T((2, 3, 3, 4, 6), const=True), T((1, 3, 4, 4, 6))],
                 Op("CONV_3D", [0, 1, -1], [2])) == 3 * 4 * 4 * 6 * (2 * 3 * 3 * 4)
    # CONV_3D_TRANSPOSE, filter [KD, KH, KW, O, I] = [2, 2, 2, 3, 4], input 1x2x2x2x4
    assert _macs([T((5,), "int32", const=True), T((2, 2, 2, 3, 4), const=True), T((1, 2, 2, 2, 4)),
                  T((1, 4, 4, 4, 3))], Op("CONV_3D_TRANSPOSE", [0, 1, 2], [3])) == 2 * 2 * 2 * 4 * (2 * 2 * 2 * 3)


@pytest.mark.parametrize("adj_x", [False, True])
def test_batch_matmul(adj_x):
    # [2, 3, 5] x [2, 5, 7] -> [2, 3, 7]: K = 5; with adj_x the left operand is stored [2, 5, 3]
    x = T((2, 5, 3)) if adj_x else T((2, 3, 5))
    assert _macs([x, T((2, 5, 7)), T((2, 3, 7))],
                 Op("BATCH_MATMUL", [0, 1], [2], {"adj_x": adj_x})) == 2 * 3 * 7 * 5


def _lstm_tensors(batch, time, n_in, units, *, peephole=False, projection=0):
    """The 24 inputs of UNIDIRECTIONAL_SEQUENCE_LSTM (LiteRT's kernel order), tensors appended to ``ts``."""
    n_out = projection or units
    ts = [T((batch, time, n_in))]
    idx = [0]
    for shape in [(units, n_in)] * 4 + [(units, n_out)] * 4:  # 1-4 input, 5-8 recurrent weights
        ts.append(T(shape, const=True))
        idx.append(len(ts) - 1)
    for _ in range(3):  # 9-11 peepholes
        if peephole:
            ts.append(T((units,), const=True))
        idx.append(len(ts) - 1 if peephole else -1)
    for _ in range(4):  # 12-15 gate biases
        ts.append(T((units,), const=True))
        idx.append(len(ts) - 1)
    if projection:  # 16 projection weights, 17 projection bias
        ts.append(T((projection, units), const=True))
        idx += [len(ts) - 1, -1]
    else:
        idx += [-1, -1]
    ts += [T((batch, n_out)), T((batch, units))]  # 18-19 states
    idx += [len(ts) - 2, len(ts) - 1] + [-1] * 4  # 20-23 layer norm: absent
    ts.append(T((batch, time, n_out)))
    return ts, idx, len(ts) - 1


def test_unidirectional_lstm():
    ts, idx, out = _lstm_tensors(2, 7, 5, 4)
    # per step: 4 gates x (4x5 input + 4x4 recurrent) weights; 2 x 7 steps
    assert _macs(ts, Op("UNIDIRECTIONAL_SEQUENCE_LSTM", idx, [out])) == 2 * 7 * 4 * (4 * 5 + 4 * 4)
    ts, idx, out = _lstm_tensors(1, 3, 5, 4, peephole=True, projection=2)
    # recurrent weights are units x projection; + 3 peepholes of 4; + a 2x4 projection
    assert _macs(ts, Op("UNIDIRECTIONAL_SEQUENCE_LSTM", idx, [out])) == 3 * (4 * (4 * 5 + 4 * 2) + 3 * 4 + 2 * 4)


def test_basic_lstm_rnn_and_svdf():
    # LSTM basic kernel: input [1, 6], one [4*8, 6 + 8] matrix at input 2
    assert _macs([T((1, 6)), T((1, 8)), T((32, 14), const=True), T((32,), const=True), T((1, 8)), T((1, 8))],
                 Op("LSTM", [0, 1, 2, 3, 4], [5])) == 32 * 14
    # UNIDIRECTIONAL_SEQUENCE_RNN: [3, 10, 6] input, 8 units: (8x6 + 8x8) per step, 30 steps
    assert _macs([T((3, 10, 6)), T((8, 6), const=True), T((8, 8), const=True), T((8,), const=True), T((3, 8)),
                  T((3, 10, 8))], Op("UNIDIRECTIONAL_SEQUENCE_RNN", [0, 1, 2, 3, 4], [5])) == 30 * (8 * 6 + 8 * 8)
    # SVDF: input [2, 12], 6 filters (rank 2 x 3 units), memory 5
    assert _macs([T((2, 12)), T((6, 12), const=True), T((6, 5), const=True), T((3,), const=True), T((2, 30)),
                  T((2, 3))], Op("SVDF", [0, 1, 2, 3, 4], [5])) == 2 * (6 * 12 + 6 * 5)


def test_bidirectional_lstm_counts_both_directions():
    batch, time, n_in, units = 1, 4, 3, 2
    ts = [T((batch, time, n_in))]
    idx = [0] + [-1] * 47
    for base in (1, 18):  # forward weights 1-8, backward 18-25
        for k in range(8):
            ts.append(T((units, n_in if k < 4 else units), const=True))
            idx[base + k] = len(ts) - 1
    ts.append(T((batch, time, 2 * units)))
    per_direction = 4 * (units * n_in + units * units)
    assert _macs(ts, Op("BIDIRECTIONAL_SEQUENCE_LSTM", idx, [len(ts) - 1])) == batch * time * 2 * per_direction


def test_every_multiplying_op_has_a_rule():
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED", "BATCH_MATMUL", "CONV_3D",
            "CONV_3D_TRANSPOSE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "LSTM",
            "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN", "RNN", "SVDF"} <= set(RULES)


def _custom_graph() -> bytes:
    return build([T((1, 6, 6, 3)), T((5, 3, 3, 3), const=True), T((1, 4, 4, 5)), T((1, 4, 4, 5)), T((1, 4, 4, 5)),
                  T((1, 4, 4, 5))],
                 [Op("CONV_2D", [0, 1, -1], [2]), Op("custom:Landmarks2TransformMatrix", [2], [3]),
                  Op(250, [3], [4]), Op("custom:", [4], [5])], [0], [5])


def test_custom_and_unknown_ops_are_named_and_not_counted():
    graph = parse_tflite(_custom_graph())
    assert [(op.opcode, op.custom) for op in graph.ops] == [
        ("CONV_2D", False), ("Landmarks2TransformMatrix", True), ("BUILTIN_250", False), ("CUSTOM", True)]
    report = analyze_graph(graph, "m")
    assert report.macs == 4 * 4 * 5 * 27  # the convolution; the custom ops are not in it
    assert [r.macs for r in report.layers] == [4 * 4 * 5 * 27, None, None, None]
    assert report.not_counted == ("Landmarks2TransformMatrix", "BUILTIN_250", "CUSTOM")
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["layers"][1]["macs"] is None and doc["layers"][1]["note"] == "custom op: not counted"
    assert doc["macs_note"] == "3 ops not counted (BUILTIN_250, CUSTOM, Landmarks2TransformMatrix)"


def test_an_op_with_unexpected_shapes_is_noted_not_fatal():
    report = _report([T((1, 6, 6, 3)), T((5,), const=True), T((1, 4, 4, 5))], [Op("CONV_2D", [0, 1, -1], [2])])
    assert report.layers[0].macs is None and "unexpected tensor shapes" in report.layers[0].note


def test_info_cli_names_custom_ops(tmp_path):
    path = tmp_path / "custom.tflite"
    path.write_bytes(_custom_graph())
    run = run_cli("info", str(path), "--json")
    assert run.code == 0, run.err
    assert run.json()["not_counted"] == ["Landmarks2TransformMatrix", "BUILTIN_250", "CUSTOM"]
    run = run_cli("info", str(path), "--layers")
    assert run.code == 0, run.err
    assert "3 ops not counted" in run.out and "not counted" in run.out.split("per layer")[1]


def _weights_graph(weight: str, *, dequantize: bool, io: str = "float32", act: str = "float32") -> bytes:
    """input -> [DEQUANTIZE(weights)] -> CONV_2D."""
    ts = [T((1, 6, 6, 3), io), T((5, 3, 3, 3), weight, const=True), T((1, 4, 4, 5), act)]
    ops = [Op("CONV_2D", [0, 1, -1], [2])]
    if dequantize:
        ts.append(T((5, 3, 3, 3)))
        ops = [Op("DEQUANTIZE", [1], [3]), Op("CONV_2D", [0, 3, -1], [2])]
    return build(ts, ops, [0], [2])


@pytest.mark.parametrize(("weight", "dequantize", "io", "act", "label"), [
    ("float16", True, "float32", "float32", "fp16"),  # MediaPipe's face detector
    ("float16", False, "float32", "float32", "fp16"),
    ("int8", True, "float32", "float32", "dynamic"),
    ("uint8", False, "uint8", "uint8", "uint8"),  # the older uint8-quantized models
    ("uint8", False, "float32", "uint8", "uint8"),  # float input, QUANTIZE inside
    ("float32", False, "float32", "float32", "fp32"),
])
def test_quant_label_reads_the_weights(weight, dequantize, io, act, label):
    assert infer_quant(parse_tflite(_weights_graph(weight, dequantize=dequantize, io=io, act=act))) == label


@pytest.mark.parametrize(("name", "label"), [("fp32", "fp32"), ("int8", "int8"), ("uint8", "uint8"),
                                             ("int16", "int16x8")])
def test_quant_label_of_converted_files(name, label):
    assert infer_quant(parse_tflite((DATA / f"tiny_{name}.tflite").read_bytes())) == label


def test_converter_written_files():
    """Files TF's converter wrote (tests/data/make_tiny.py): the layouts the rules assume are the real ones."""
    from edgekit.analysis import analyze_tflite

    rows = [(r.type, r.macs) for r in analyze_tflite(DATA / "ops_conv3d.tflite").layers if r.macs]
    # Conv3D(4, 3) on 4x6x6x2 -> 2x4x4x4; Conv3DTranspose(3, 2, strides=2) scatters each of those 128 values
    assert rows == [("CONV_3D", 2 * 4 * 4 * 4 * (3 * 3 * 3 * 2)), ("CONV_3D_TRANSPOSE", 128 * (2 * 2 * 2 * 3))]
    assert analyze_tflite(DATA / "ops_matmul.tflite").macs == 2 * 3 * 7 * 5  # [2,3,5] x [2,5,7]
    lstm = analyze_tflite(DATA / "ops_lstm.tflite")  # a Keras 3 LSTM is a WHILE loop: said, not guessed
    assert lstm.not_counted == ("WHILE",) and "WHILE" in lstm.macs_note
