"""MACs of each TFLite op that multiplies, one documented rule per op.

One MAC is one multiply-accumulate of a weight (or second operand) with an activation; biases, activations,
gate nonlinearities and elementwise products are not MACs (``macs.py`` states the convention). Shapes are
the tensors' stored shapes, so a dynamic dimension counts at the size the file stores (usually 1). Tensor
layouts and input orders are those of LiteRT's kernels (``tensorflow/lite/kernels/*.cc``) and the schema
(``tensorflow/compiler/mlir/lite/schema/schema.fbs``, shipped as ``ai_edge_litert.schema_py_generated``).

============================== ========================================================================
op                             MACs
============================== ========================================================================
CONV_2D                        prod(output) * KH * KW * I_g; filter ``[O, KH, KW, I_g]``, I_g = I / groups
DEPTHWISE_CONV_2D              prod(output) * KH * KW; filter ``[1, KH, KW, O]``, O = I * multiplier
TRANSPOSE_CONV                 prod(input) * KH * KW * O; inputs ``(output_shape, filter [O, KH, KW, I],
                               input)``: each input value is scattered through the whole kernel
CONV_3D                        prod(output) * KD * KH * KW * I; filter ``[KD, KH, KW, I, O]``
CONV_3D_TRANSPOSE              prod(input) * KD * KH * KW * O; inputs ``(output_shape, filter
                               [KD, KH, KW, O, I], input)``
FULLY_CONNECTED                prod(output) * I; weights ``[O, I]`` (any batch or keep_num_dims)
BATCH_MATMUL                   prod(output) * K; K = x's last dim, or its second to last with adj_x
LSTM, UNIDIRECTIONAL_          steps * (weights): steps = prod(input[:-1]) (batch x time), weights = the
SEQUENCE_LSTM                  elements of the 8 input/recurrent gate matrices, the 3 peephole vectors
                               and the projection matrix present (inputs 1-11 and 16). The basic LSTM
                               kernel (5 inputs) has one ``[4U, I+U]`` matrix at input 2
BIDIRECTIONAL_SEQUENCE_LSTM    the same over both directions: inputs 1-11, 16 (forward), 18-28, 33
                               (backward) and the auxiliary-input matrices 40-47
RNN, UNIDIRECTIONAL_           steps * (input weights ``[U, I]`` + recurrent weights ``[U, U]``), inputs 1-2
SEQUENCE_RNN
BIDIRECTIONAL_SEQUENCE_RNN     steps * (inputs 1-2 forward, 5-6 backward, 10-11 auxiliary)
SVDF                           steps * (weights_feature ``[F, I]`` + weights_time ``[F, M]``), inputs 1-2
custom ops                     not counted (``None``): their arithmetic is not in the file
WHILE, IF, CALL, STABLEHLO_    not counted: their ops sit in other subgraphs, a loop's trip count is not
WHILE/CASE/COMPOSITE           in the file (a Keras 3 LSTM converts to a WHILE loop)
STABLEHLO_CONVOLUTION,         not counted: they multiply, and have no rule yet
STABLEHLO_DOT_GENERAL,
unknown builtin codes
any other op                   0 MACs (elementwise work is counted apart)
============================== ========================================================================

For the recurrent ops each weight element takes part in one multiply-accumulate per step, so the count is
the weight elements times batch x time; this is the MobileNet papers' convention applied to a GEMV.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from edgekit.analysis.tflite_graph import OpInfo, TensorInfo

Tensors = Sequence[TensorInfo]


def _shape(t: Tensors, index: int) -> tuple[int, ...]:
    return t[index].shape if index >= 0 else ()


def _out(op: OpInfo, t: Tensors) -> tuple[int, ...]:
    return _shape(t, op.outputs[0])


def _conv2d(op: OpInfo, t: Tensors) -> int:
    w = _shape(t, op.inputs[1])  # [O, KH, KW, I/groups]
    return prod(_out(op, t)) * w[1] * w[2] * w[3]


def _depthwise(op: OpInfo, t: Tensors) -> int:
    w = _shape(t, op.inputs[1])  # [1, KH, KW, O]
    return prod(_out(op, t)) * w[1] * w[2]


def _transpose_conv(op: OpInfo, t: Tensors) -> int:
    w, x = _shape(t, op.inputs[1]), _shape(t, op.inputs[2])  # [O, KH, KW, I], [N, H, W, I]
    return prod(x) * w[1] * w[2] * w[0]


def _conv3d(op: OpInfo, t: Tensors) -> int:
    w = _shape(t, op.inputs[1])  # [KD, KH, KW, I, O]
    return prod(_out(op, t)) * w[0] * w[1] * w[2] * w[3]


def _conv3d_transpose(op: OpInfo, t: Tensors) -> int:
    w, x = _shape(t, op.inputs[1]), _shape(t, op.inputs[2])  # [KD, KH, KW, O, I], [N, D, H, W, I]
    return prod(x) * w[0] * w[1] * w[2] * w[3]


def _fully_connected(op: OpInfo, t: Tensors) -> int:
    w = _shape(t, op.inputs[1])  # [O, I]
    return prod(_out(op, t)) * w[1]


def _batch_matmul(op: OpInfo, t: Tensors) -> int:
    x = _shape(t, op.inputs[0])  # [..., M, K], or [..., K, M] with adj_x
    k = x[-2] if op.option("adj_x", False) else x[-1]
    return prod(_out(op, t)) * k


def _per_step(weights: Sequence[int]) -> Callable[[OpInfo, Tensors], int]:
    """Recurrent ops: batch x time steps, each using every weight element at ``weights`` (input indices) once."""

    def rule(op: OpInfo, t: Tensors) -> int:
        steps = prod(_shape(t, op.inputs[0])[:-1])
        present = [op.inputs[i] for i in weights if i < len(op.inputs) and op.inputs[i] >= 0]
        return steps * sum(prod(t[i].shape) for i in present)

    return rule


_LSTM_FULL = (*range(1, 12), 16)
_lstm_full = _per_step(_LSTM_FULL)
_lstm_basic = _per_step((2,))


def _lstm(op: OpInfo, t: Tensors) -> int:
    return _lstm_basic(op, t) if len(op.inputs) == 5 else _lstm_full(op, t)


RULES: dict[str, Callable[[OpInfo, Tensors], int]] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "TRANSPOSE_CONV": _transpose_conv,
    "CONV_3D": _conv3d,
    "CONV_3D_TRANSPOSE": _conv3d_transpose,
    "FULLY_CONNECTED": _fully_connected,
    "BATCH_MATMUL": _batch_matmul,
    "LSTM": _lstm,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm_full,
    "BIDIRECTIONAL_SEQUENCE_LSTM": _per_step((*_LSTM_FULL, *range(18, 29), 33, *range(40, 48))),
    "RNN": _per_step((1, 2)),
    "UNIDIRECTIONAL_SEQUENCE_RNN": _per_step((1, 2)),
    "BIDIRECTIONAL_SEQUENCE_RNN": _per_step((1, 2, 5, 6, 10, 11)),
    "SVDF": _per_step((1, 2)),
}

CUSTOM_NOTE = "custom op: not counted"
# Ops whose work lies in other subgraphs (a loop body runs a number of times the file does not state), and
# ops that multiply but have no rule here: not counted, rather than counted as 0.
_CONTROL_FLOW = {"WHILE", "IF", "CALL", "STABLEHLO_WHILE", "STABLEHLO_CASE", "STABLEHLO_COMPOSITE"}
_NO_RULE = {"STABLEHLO_CONVOLUTION", "STABLEHLO_DOT_GENERAL"}


def op_macs(op: OpInfo, t: Tensors) -> tuple[int | None, str]:
    """``(MACs, note)`` of one op: None with a note when they cannot be counted, never an exception."""
    if op.custom:
        return None, CUSTOM_NOTE
    if op.opcode in _CONTROL_FLOW:
        return None, f"control flow ({op.opcode}): the ops of its subgraphs are not counted"
    if op.opcode in _NO_RULE or op.opcode.startswith("BUILTIN_"):
        return None, f"{op.opcode}: no MAC rule, not counted"
    rule = RULES.get(op.opcode)
    if rule is None:
        return 0, ""
    try:
        return int(rule(op, t)), ""
    except (IndexError, TypeError, ValueError):  # a shape of unexpected rank, a missing input
        return None, f"{op.opcode} with unexpected tensor shapes: not counted"
