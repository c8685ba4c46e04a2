"""The Edge TPU rules and partition on small hand-built graphs (fast tier: no TensorFlow).

Each graph is the shape of a real model the compiler was seen to split (issue 11): a pose model that starts
with CAST/QUANTIZE, an int8 Keras LSTM, DeepLab's image-pooling branch, and an unsupported op mid-chain.
The expected placements are worked out by hand from the rules in docs/edgetpu.md, not read off the code.
"""

from __future__ import annotations

from math import prod

import pytest

from edgekit.analysis.tflite_graph import OpInfo, TensorInfo, TFLiteGraph, read_tflite
from targets.edgetpu import check_graph
from targets.edgetpu_ops import op_problem
from tests.conftest import ROOT

_SIZES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "float32": 4}


class G:
    """A tiny graph builder: tensors by name, ops in execution order."""

    def __init__(self):
        self.tensors: list[TensorInfo] = []
        self.ops: list[OpInfo] = []
        self.names: dict[str, int] = {}

    def t(self, name, shape, dtype="int8", const=False, values=()):
        i = len(self.tensors)
        nbytes = prod(shape) * _SIZES[dtype]
        self.tensors.append(TensorInfo(i, name, tuple(shape), dtype, _SIZES[dtype], const, nbytes if const else 0,
                                       shape_signature=tuple(shape), values=tuple(values)))
        self.names[name] = i
        return name

    def op(self, opcode, ins, outs, **options):
        self.ops.append(OpInfo(len(self.ops), opcode, tuple(self.names[n] if n else -1 for n in ins),
                               tuple(self.names[n] for n in outs), options))

    def conv(self, x, out, shape, cin, cout=None, k=1, **options):
        cout = cout or shape[-1]
        w, b = self.t(f"{out}/w", (cout, k, k, cin), const=True), self.t(f"{out}/b", (cout,), "int32", True)
        self.t(out, shape)
        self.op("CONV_2D", [x, w, b], [out], fusedActivationFunction=0, **options)
        return out

    def graph(self, inputs, outputs) -> TFLiteGraph:
        return TFLiteGraph(tuple(self.tensors), tuple(self.ops), tuple(self.names[n] for n in inputs),
                           tuple(self.names[n] for n in outputs), 3, 1, 1000)


def _placements(g: TFLiteGraph) -> list[tuple[str, str]]:
    return [(v.opcode, v.placement) for v in check_graph(g).ops]


def test_leading_cast_and_quantize_run_before_the_tpu_segment():
    # A pose model fed uint8 pixels: CAST to float, QUANTIZE to int8, the network, DEQUANTIZE out.
    g = G()
    g.t("img", (1, 16, 16, 3), "uint8")
    g.t("f", (1, 16, 16, 3), "float32")
    g.op("CAST", ["img"], ["f"])
    g.t("q", (1, 16, 16, 3))
    g.op("QUANTIZE", ["f"], ["q"])
    x = g.conv("q", "c1", (1, 8, 8, 8), 3, k=3, strideH=2, strideW=2)
    x = g.conv(x, "c2", (1, 8, 8, 8), 8)
    g.t("heat", (1, 8, 8, 8))
    g.op("LOGISTIC", [x], ["heat"])
    g.t("out", (1, 8, 8, 8), "float32")
    g.op("DEQUANTIZE", ["heat"], ["out"])
    report = check_graph(g.graph(["img"], ["out"]))
    assert [(v.opcode, v.placement) for v in report.ops] == [
        ("CAST", "leading"), ("QUANTIZE", "leading"), ("CONV_2D", "tpu"), ("CONV_2D", "tpu"),
        ("LOGISTIC", "tpu"), ("DEQUANTIZE", "cpu")]
    assert report.tpu_ops == 3 and report.first_unsupported == 0 and not report.compatible
    assert "3 of 6 ops on the TPU; on the CPU, 2 before the Edge TPU op (leading) and 1 after" in report.reasons[-1]


def _lstm(g: G, x: str, out: str, steps: int, units: int, features: int) -> None:
    """An int8 UNIDIRECTIONAL_SEQUENCE_LSTM as the TFLite converter writes it: 4 input, 4 recurrent weights,
    4 int32 biases, an int8 output state and an int16 cell state (variables), int8 output."""
    ins = [x]
    for gate in "ifco":
        ins.append(g.t(f"{out}/w_{gate}", (units, features), const=True))
    for gate in "ifco":
        ins.append(g.t(f"{out}/r_{gate}", (units, units), const=True))
    ins += [None, None, None]  # no peepholes
    for gate in "ifco":
        ins.append(g.t(f"{out}/b_{gate}", (units,), "int32", True))
    ins += [None, None]  # no projection
    ins.append(g.t(f"{out}/h", (1, units)))
    ins.append(g.t(f"{out}/c", (1, units), "int16"))
    g.t(out, (1, steps, units))
    g.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [out], fusedActivationFunction=4, timeMajor=False)


def test_int8_lstm_maps_whole():
    # An int8 Keras LSTM classifier: LSTM(16) over 28 steps, last step, Dense(10), softmax: all on the TPU.
    g = G()
    g.t("x", (1, 28, 28))
    _lstm(g, "x", "seq", 28, 16, 28)
    begin, end = g.t("begin", (3,), "int32", True, (0, 27, 0)), g.t("end", (3,), "int32", True, (1, 28, 16))
    g.t("one", (3,), "int32", True, (1, 1, 1))
    g.t("last", (1, 16))
    g.op("STRIDED_SLICE", ["seq", begin, end, "one"], ["last"], shrinkAxisMask=2)
    w, b = g.t("fc/w", (10, 16), const=True), g.t("fc/b", (10,), "int32", True)
    g.t("logits", (1, 10))
    g.op("FULLY_CONNECTED", ["last", w, b], ["logits"], fusedActivationFunction=0, weightsFormat=0)
    g.t("prob", (1, 10))
    g.op("SOFTMAX", ["logits"], ["prob"], beta=1.0)
    report = check_graph(g.graph(["x"], ["prob"]))
    assert report.compatible and report.tpu_ops == 4 and report.reasons == ()
    # int8 gate weights, int32 gate biases, the dense layer, and the slice's three int32 index vectors
    assert report.param_bytes_on_tpu == 4 * 16 * 28 + 4 * 16 * 16 + 4 * 16 * 4 + (10 * 16 + 10 * 4) + 3 * 3 * 4


def test_bidirectional_lstm_is_not_mapped():
    g = G()
    g.t("x", (1, 8, 4))
    g.t("y", (1, 8, 8))
    g.op("BIDIRECTIONAL_SEQUENCE_LSTM", ["x"], ["y"])
    assert "not supported" in check_graph(g.graph(["x"], ["y"])).ops[0].why_not


def _deeplab_head(align_corners: bool) -> TFLiteGraph:
    """DeepLab v3's ASPP head on a 9x9 feature map: an image-pooling branch (1x1, resized back), a 1x1 conv
    branch, concatenation, projection, logits, resize to the 33x33 input, ARG_MAX."""
    g = G()
    g.t("img", (1, 33, 33, 3))
    feat = g.conv("img", "backbone", (1, 9, 9, 32), 3, k=3, strideH=4, strideW=4)
    g.t("pooled", (1, 1, 1, 32))
    g.op("AVERAGE_POOL_2D", [feat], ["pooled"], filterHeight=9, filterWidth=9, fusedActivationFunction=0)
    pool = g.conv("pooled", "pool_conv", (1, 1, 1, 16), 32)
    size = g.t("size", (2,), "int32", True, (9, 9))
    g.t("pool_up", (1, 9, 9, 16))
    g.op("RESIZE_BILINEAR", [pool, size], ["pool_up"], alignCorners=align_corners)
    g.t("pool_rq", (1, 9, 9, 16))
    g.op("QUANTIZE", ["pool_up"], ["pool_rq"])  # requantized to the concatenation's scale
    aspp0 = g.conv(feat, "aspp0", (1, 9, 9, 16), 32)
    g.t("cat", (1, 9, 9, 32))
    g.op("CONCATENATION", ["pool_rq", aspp0], ["cat"], axis=3, fusedActivationFunction=0)
    proj = g.conv("cat", "proj", (1, 9, 9, 16), 32)
    logits = g.conv(proj, "logits", (1, 9, 9, 4), 16)
    size2 = g.t("size2", (2,), "int32", True, (33, 33))
    g.t("up", (1, 33, 33, 4))
    g.op("RESIZE_BILINEAR", [logits, size2], ["up"], alignCorners=align_corners)
    g.t("labels", (1, 33, 33), "int32")
    axis = g.t("axis", (1,), "int32", True, (3,))
    g.op("ARG_MAX", ["up", axis], ["labels"])
    return g.graph(["img"], ["labels"])


def test_deeplab_branch_after_an_unmappable_resize_falls_to_the_cpu():
    # align_corners from a 1x1 map: not mapped; everything that reads it follows it to the CPU, while the
    # 1x1-conv branch, which does not, stays on the TPU.
    placed = _placements(_deeplab_head(align_corners=True))
    assert placed == [
        ("CONV_2D", "tpu"), ("AVERAGE_POOL_2D", "tpu"), ("CONV_2D", "tpu"), ("RESIZE_BILINEAR", "cpu"),
        ("QUANTIZE", "cpu"), ("CONV_2D", "tpu"), ("CONCATENATION", "cpu"), ("CONV_2D", "cpu"),
        ("CONV_2D", "cpu"), ("RESIZE_BILINEAR", "cpu"), ("ARG_MAX", "cpu")]


def test_deeplab_without_align_corners_maps_up_to_the_final_resize():
    # 1x1 -> 9x9 is a whole factor; 9 -> 33 is not (33/9), so the last resize and ARG_MAX stay on the CPU.
    report = check_graph(_deeplab_head(align_corners=False))
    assert [v.opcode for v in report.ops if not v.on_tpu] == ["RESIZE_BILINEAR", "ARG_MAX"]
    assert "not a whole scale factor" in report.ops[9].why_not and report.first_unsupported == 9


def test_unsupported_op_mid_chain_sends_its_descendants_to_the_cpu_only():
    g = G()
    g.t("x", (1, 8, 8, 4))
    a = g.conv("x", "a", (1, 8, 8, 4), 4)
    g.t("e", (1, 8, 8, 4))
    g.op("EXP", [a], ["e"])  # not in Coral's table
    b = g.conv("e", "b", (1, 8, 8, 4), 4)
    side = g.conv(a, "side", (1, 8, 8, 4), 4)  # after EXP in execution order, but does not read it
    g.t("sum", (1, 8, 8, 4))
    g.op("ADD", [b, side], ["sum"], fusedActivationFunction=0)
    report = check_graph(g.graph(["x"], ["sum"]))
    assert [(v.opcode, v.placement) for v in report.ops] == [
        ("CONV_2D", "tpu"), ("EXP", "cpu"), ("CONV_2D", "cpu"), ("CONV_2D", "tpu"), ("ADD", "cpu")]
    assert report.ops[2].why_not == "downstream of an op that runs on the CPU"
    assert report.first_unsupported == 1 and report.tpu_ops == 2


def _one_op(opcode, in_shape, out_shape, extra=(), **options) -> tuple[OpInfo, TFLiteGraph]:
    g = G()
    g.t("x", in_shape)
    names = ["x"]
    for k, (shape, dtype, values) in enumerate(extra):
        names.append(g.t(f"c{k}", shape, dtype, True, values))
    g.t("y", out_shape)
    g.op(opcode, names, ["y"], **options)
    graph = g.graph(["x"], ["y"])
    return graph.ops[0], graph


@pytest.mark.parametrize("in_hw, out_hw, align, half, maps", [
    ((12, 12), (24, 24), False, True, True),  # FPN / UpSampling2D x2
    ((16, 16), (16, 16), False, False, True),  # no change
    ((9, 9), (33, 33), True, False, True),  # (33-1)/(9-1) = 4: whole with align_corners...
    ((9, 9), (33, 33), False, False, False),  # ...33/9 is not
    ((33, 33), (513, 513), True, False, True),  # DeepLab's logits: (513-1)/(33-1) = 16
    ((1, 1), (33, 33), True, False, False),  # DeepLab's image pooling: no grid to scale
    ((1, 1), (33, 33), False, False, True),  # a broadcast by 33
    ((32, 32), (16, 16), False, False, True),  # halve
    ((30, 30), (20, 20), False, False, False),  # 2/3
])
def test_resize_needs_a_whole_scale_factor(in_hw, out_hw, align, half, maps):
    for opcode in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        op, graph = _one_op(opcode, (1, *in_hw, 8), (1, *out_hw, 8), [((2,), "int32", out_hw)],
                            alignCorners=align, halfPixelCenters=half)
        assert (op_problem(op, graph) == "") is maps, (in_hw, out_hw, align, op_problem(op, graph))


@pytest.mark.parametrize("opcode, in_shape, out_shape, extra, options, fragment", [
    ("AVERAGE_POOL_2D", (1, 8, 8, 4), (1, 4, 4, 4), (), {"fusedActivationFunction": 1}, "fused activation"),
    ("MAX_POOL_2D", (1, 8, 8, 4), (1, 4, 4, 4), (), {"fusedActivationFunction": 0}, ""),
    ("SOFTMAX", (1, 4, 10), (1, 4, 10), (), {}, "only a 1-D input"),
    ("SOFTMAX", (1, 16_001), (1, 16_001), (), {}, "above 16,000"),
    ("SOFTMAX", (1, 1000), (1, 1000), (), {}, ""),
    ("STRIDED_SLICE", (1, 8, 8, 4), (1, 4, 4, 4),
     (((4,), "int32", (0, 0, 0, 0)), ((4,), "int32", (1, 8, 8, 4)), ((4,), "int32", (1, 2, 2, 1))), {},
     "only strides of 1"),
    ("MEAN", (1, 8, 8, 6), (1, 8, 8), (((1,), "int32", (3,)),), {}, "multiple of 4"),
    ("MEAN", (1, 8, 8, 8), (1, 8), (((2,), "int32", (1, 2)),), {}, ""),
    ("SUM", (2, 8, 8), (8, 8), (((1,), "int32", (0,)),), {}, "batch dimension"),
    ("PAD", (1, 8, 4), (3, 8, 4), (((3, 2), "int32", (1, 1, 0, 0, 0, 0)),), {}, "batch"),
    ("PAD", (1, 8, 8, 4), (1, 10, 10, 4), (((4, 2), "int32", (0, 0, 1, 1, 1, 1, 0, 0)),), {}, ""),
    ("CONV_2D", (1, 8, 8, 4), (1, 8, 8, 4), (((4, 3, 3, 4), "int8", ()),),
     {"dilationHFactor": 2, "dilationWFactor": 1}, "dilation"),
    ("FULLY_CONNECTED", (1, 4, 16), (1, 4, 10), (((10, 16), "int8", ()),), {"keepNumDims": True},
     "not one-dimensional"),
    ("PRELU", (1, 8, 8, 4), (1, 8, 8, 4), (((8, 8, 4), "int8", ()),), {}, "only its innermost"),
    ("HARD_SWISH", (1, 8, 8, 4), (1, 8, 8, 4), (), {}, "not supported"),
    ("TRANSPOSE", (1, 8, 4), (1, 4, 8), (((3,), "int32", (0, 2, 1)),), {}, ""),
])
def test_documented_op_constraints(opcode, in_shape, out_shape, extra, options, fragment):
    op, graph = _one_op(opcode, in_shape, out_shape, extra, **options)
    problem = op_problem(op, graph)
    assert (fragment in problem and problem) if fragment else problem == "", problem


def test_rank_and_dtype_rules_apply_to_every_op():
    op, graph = _one_op("ADD", (2, 3, 8, 8), (2, 3, 8, 8))
    assert "3 innermost" in op_problem(op, graph)
    g = G()
    g.t("x", (1, 8), "float32")
    g.t("y", (1, 8))
    g.op("QUANTIZE", ["x"], ["y"])  # float -> int8 cannot run on the TPU; int8 -> int8 can
    g.t("z", (1, 8), "uint8")
    g.op("QUANTIZE", ["y"], ["z"])
    graph = g.graph(["x"], ["z"])
    assert "float32" in op_problem(graph.ops[0], graph) and op_problem(graph.ops[1], graph) == ""


# --- the same rules on files the TFLite converter wrote (tests/data/make_partition.py) ----------------------

def test_converter_made_float_io_model_keeps_its_network_on_the_tpu():
    report = check_graph(read_tflite(ROOT / "tests/data/tiny_int8_floatio.tflite"))
    assert [v.placement for v in report.ops] == ["leading", "tpu", "tpu", "tpu", "tpu", "tpu", "cpu"]
    assert (report.ops[0].opcode, report.ops[-1].opcode) == ("QUANTIZE", "DEQUANTIZE")


def test_converter_made_aspp_head():
    graph = read_tflite(ROOT / "tests/data/aspp_int8.tflite")
    report = check_graph(graph)
    off = [(v.opcode, v.why_not.split(" (")[0]) for v in report.ops if not v.on_tpu]
    assert off[0] == ("RESIZE_BILINEAR", "align_corners from a 1-pixel height")
    assert [o for o, _ in off[1:]] == ["CONCATENATION", "CONV_2D", "RESIZE_BILINEAR"]
    assert report.tpu_ops == 4  # backbone, the 1x1 branch, the pool and its conv
    upsample = graph.ops[-1]
    assert upsample.options["halfPixelCenters"] and op_problem(upsample, graph) == ""  # x2 maps on its own
