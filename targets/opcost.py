"""What each op of a ``.tflite`` graph asks of the hardware: MACs, elements and bytes, in execution order.

The estimators work on these records, never on the flatbuffer, so a model can be summarised once (the
calibration set in ``targets/data/`` is stored this way) and estimated for any target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from math import prod

from edgekit.analysis.tflite_cost import _op_elementwise, _op_macs
from edgekit.analysis.tflite_graph import TFLiteGraph


class OpKind(str, Enum):
    CONV = "conv"  # CONV_2D, TRANSPOSE_CONV: a GEMM with reuse of inputs across output channels
    DEPTHWISE = "depthwise"  # one input channel per output channel: little reuse, memory-heavy
    FC = "fc"  # FULLY_CONNECTED: at batch 1 every weight is used once
    ELEMENTWISE = "elementwise"  # adds, activations, pools, means, softmax
    DATA = "data"  # reshapes, concatenations, shape arithmetic: bytes only


_KINDS = {"CONV_2D": OpKind.CONV, "TRANSPOSE_CONV": OpKind.CONV, "CONV_3D": OpKind.CONV,
          "CONV_3D_TRANSPOSE": OpKind.CONV, "DEPTHWISE_CONV_2D": OpKind.DEPTHWISE, "FULLY_CONNECTED": OpKind.FC,
          # a matrix product or a recurrent cell at batch 1 reads each weight once per step, as a dense layer does
          "BATCH_MATMUL": OpKind.FC, "LSTM": OpKind.FC, "UNIDIRECTIONAL_SEQUENCE_LSTM": OpKind.FC,
          "BIDIRECTIONAL_SEQUENCE_LSTM": OpKind.FC, "RNN": OpKind.FC, "UNIDIRECTIONAL_SEQUENCE_RNN": OpKind.FC,
          "BIDIRECTIONAL_SEQUENCE_RNN": OpKind.FC, "SVDF": OpKind.FC}


@dataclass(frozen=True)
class OpCost:
    """One op as a cost model sees it. Bytes are at the stored dtypes."""

    opcode: str
    kind: OpKind
    dtype: str  # "int8" for any 8-bit compute, "fp32", "fp16", "int16" or "other"
    macs: int
    elements: int  # elementwise work for ops without MACs
    act_bytes: int  # non-constant inputs plus outputs
    weight_bytes: int  # constant inputs (weights, biases) as stored

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_dict(cls, d: dict) -> OpCost:
        return cls(**{**d, "kind": OpKind(d["kind"])})


def _compute_dtype(dtype: str) -> str:
    return {"int8": "int8", "uint8": "int8", "float32": "fp32", "float16": "fp16", "int16": "int16"}.get(dtype,
                                                                                                       "other")


def op_costs(graph: TFLiteGraph) -> tuple[OpCost, ...]:
    """Summarise every op of ``graph`` in execution order."""
    t = graph.tensors
    rows = []
    for op in graph.ops:
        ins = [t[i] for i in op.inputs if i >= 0]
        outs = [t[i] for i in op.outputs if i >= 0]
        acts = [x for x in ins if not x.constant] + outs
        first = acts[0].dtype if acts else "other"
        macs = _op_macs(op, t)
        kind = _KINDS.get(op.opcode, OpKind.ELEMENTWISE if _op_elementwise(op, t) else OpKind.DATA)
        rows.append(OpCost(op.opcode, kind, _compute_dtype(first), macs, 0 if macs else _op_elementwise(op, t),
                           sum(prod(x.shape) * x.itemsize for x in acts),
                           sum(x.data_bytes for x in ins if x.constant)))
    return tuple(rows)


def input_bytes(graph: TFLiteGraph) -> int:
    """Bytes of the model's inputs (what a host sends an accelerator per inference)."""
    return sum(graph.tensors[i].nbytes for i in graph.inputs)


def output_bytes(graph: TFLiteGraph) -> int:
    return sum(graph.tensors[i].nbytes for i in graph.outputs)
