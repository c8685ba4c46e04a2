"""Build small ``.tflite`` flatbuffers by hand (no TensorFlow), with the schema's object API.

For tests of the reader and the cost rules: any op, any shape, custom and unknown opcodes. The files parse;
they are not meant to run (constant buffers are zeros).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

_TYPES = {"float32": (0, 4), "float16": (1, 2), "int32": (2, 4), "uint8": (3, 1), "int64": (4, 8),
          "int16": (7, 2), "int8": (9, 1)}


@dataclass
class T:
    """A tensor: ``const`` tensors get a buffer of zeros of their size."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    const: bool = False
    name: str = ""


@dataclass
class Op:
    """``code`` is a builtin name ("CONV_2D"), an int (an unknown builtin code) or ``custom:NAME``."""

    code: str | int
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


def build(tensors: list[T], ops: list[Op], inputs: list[int], outputs: list[int]) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    codes: list[str | int] = []
    model = s.ModelT()
    model.version = 3
    model.buffers = [s.BufferT()]
    sub = s.SubGraphT()
    sub.tensors = []
    for i, t in enumerate(tensors):
        x = s.TensorT()
        x.shape, x.type, x.name = list(t.shape), _TYPES[t.dtype][0], t.name or f"t{i}"
        if t.const:
            buf = s.BufferT()
            buf.data = [0] * (prod(t.shape) * _TYPES[t.dtype][1])
            model.buffers.append(buf)
            x.buffer = len(model.buffers) - 1
        sub.tensors.append(x)
    sub.operators = []
    for op in ops:
        if op.code not in codes:
            codes.append(op.code)
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = codes.index(op.code), op.inputs, op.outputs
        if op.code == "BATCH_MATMUL":
            o.builtinOptionsType = s.BuiltinOptions.BatchMatMulOptions
            o.builtinOptions = s.BatchMatMulOptionsT()
            o.builtinOptions.adjX = op.options.get("adj_x", False)
            o.builtinOptions.adjY = op.options.get("adj_y", False)
        sub.operators.append(o)
    sub.inputs, sub.outputs = inputs, outputs
    model.subgraphs = [sub]
    model.operatorCodes = []
    for code in codes:
        c = s.OperatorCodeT()
        if isinstance(code, str) and code.startswith("custom:"):
            c.builtinCode, c.customCode = s.BuiltinOperator.CUSTOM, code.split(":", 1)[1] or None
        else:
            c.builtinCode = code if isinstance(code, int) else getattr(s.BuiltinOperator, code)
        c.deprecatedBuiltinCode = min(c.builtinCode, 127)
        c.version = 1
        model.operatorCodes.append(c)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
