"""Build small ``.tflite`` flatbuffers by hand (no TensorFlow), with the schema's object API.

For tests of the reader and the cost rules: any op, any shape, custom and unknown opcodes. The files parse;
most are not meant to run (constant buffers are zeros). ``conv_chain`` is: a stack of 3x3 convolutions that
LiteRT runs on the CPU or a GPU, of any size, for tests that need real work to time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np

_TYPES = {"float32": (0, 4), "float16": (1, 2), "int32": (2, 4), "uint8": (3, 1), "int64": (4, 8),
          "int16": (7, 2), "int8": (9, 1)}


@dataclass
class T:
    """A tensor: ``const`` tensors get a buffer of zeros of their size."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    const: bool = False
    name: str = ""
    data: object = None  # a numpy array for a const tensor's buffer (default: zeros)


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
            buf.data = ([0] * (prod(t.shape) * _TYPES[t.dtype][1]) if t.data is None
                        else np.ascontiguousarray(t.data, dtype=t.dtype).reshape(-1).view(np.uint8))
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
        elif op.code == "CONV_2D":
            o.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
            o.builtinOptions = s.Conv2DOptionsT()
            same = op.options.get("padding", "same") == "same"
            o.builtinOptions.padding = s.Padding.SAME if same else s.Padding.VALID
            o.builtinOptions.strideW = o.builtinOptions.strideH = op.options.get("stride", 1)
            o.builtinOptions.dilationWFactor = o.builtinOptions.dilationHFactor = 1
            o.builtinOptions.fusedActivationFunction = s.ActivationFunctionType.RELU
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


def conv_chain(*, size: int, channels: int, layers: int, seed: int = 0) -> bytes:
    """A runnable model: ``layers`` 3x3 CONV_2D (SAME, ReLU) of ``channels`` to ``channels`` on a
    ``size`` x ``size`` input, random weights; ``layers * size**2 * channels**2 * 9`` MACs."""
    rng = np.random.default_rng(seed)
    tensors = [T((1, size, size, channels), name="input")]
    ops = []
    for i in range(layers):
        w = rng.standard_normal((channels, 3, 3, channels)).astype(np.float32) / (3 * channels ** 0.5)
        tensors += [T((channels, 3, 3, channels), const=True, data=w, name=f"w{i}"),
                    T((channels,), const=True, data=np.zeros(channels, np.float32), name=f"b{i}"),
                    T((1, size, size, channels), name=f"y{i}")]
        x = 0 if i == 0 else len(tensors) - 4
        ops.append(Op("CONV_2D", [x, len(tensors) - 3, len(tensors) - 2], [len(tensors) - 1]))
    return build(tensors, ops, [0], [len(tensors) - 1])
