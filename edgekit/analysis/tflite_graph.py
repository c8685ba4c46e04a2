"""Read a ``.tflite`` flatbuffer into plain Python records, without TensorFlow and without crashing.

Parsing is pure Python over the schema that ai-edge-litert ships, so a malformed file can raise but never
bring the interpreter down. Every offset read is bounds-checked by Python, every vector length is checked
against the file size before it is walked, and any failure becomes a ModelFileError. The runtime calls
:func:`read_tflite` before handing a file to the C++ loader, which can crash on bad input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from edgekit.errors import ModelFileError

_DTYPES = {0: ("float32", 4), 1: ("float16", 2), 2: ("int32", 4), 3: ("uint8", 1), 4: ("int64", 8),
           5: ("string", 1), 6: ("bool", 1), 7: ("int16", 2), 8: ("complex64", 8), 9: ("int8", 1),
           10: ("float64", 8), 11: ("complex128", 16), 12: ("uint64", 8), 15: ("uint32", 4),
           16: ("uint16", 2), 17: ("int4", 1), 18: ("bfloat16", 2)}


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    itemsize: int
    constant: bool  # backed by a non-empty buffer: a weight or bias, not an activation
    data_bytes: int  # bytes stored in the file for a constant tensor
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    shape_signature: tuple[int, ...] = ()  # -1 marks a dynamic dimension; () when the file has none

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.itemsize


@dataclass(frozen=True)
class OpInfo:
    index: int
    opcode: str  # builtin name ("CONV_2D"), the custom code of a custom op, or BUILTIN_<n> for an unknown code
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    custom: bool = False  # a custom op: its name is the file's custom_code ("CUSTOM" when it has none)
    options: tuple[tuple[str, object], ...] = ()  # the few builtin options a cost rule reads (adj_x, adj_y)

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class TFLiteGraph:
    """The main subgraph of a model, in execution order."""

    tensors: tuple[TensorInfo, ...]
    ops: tuple[OpInfo, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    version: int
    subgraphs: int
    file_bytes: int


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        raise ModelFileError("reading .tflite files needs the flatbuffer schema from ai-edge-litert; "
                             "install it with: pip install ai-edge-litert") from None
    return schema


def _opcode_names(schema) -> dict[int, str]:
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _vector(length: int, limit: int, what: str) -> range:
    if length < 0 or length > limit:
        raise ValueError(f"{what} claims {length} entries")
    return range(length)


def _read(buf: bytes, schema) -> TFLiteGraph:
    limit = len(buf)
    model = schema.Model.GetRootAs(buf, 0)
    names = _opcode_names(schema)
    opcodes = []
    for i in _vector(model.OperatorCodesLength(), limit, "operator codes"):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            opcodes.append((custom.decode(errors="replace") if custom else "CUSTOM", True))
        else:
            opcodes.append((names.get(builtin, f"BUILTIN_{builtin}"), False))
    buffers = []
    for i in _vector(model.BuffersLength(), limit, "buffers"):
        b = model.Buffers(i)
        buffers.append(b.DataLength() or (b.Size() if b.Offset() > 1 else 0))
    nsub = model.SubgraphsLength()
    if nsub < 1:
        raise ValueError("no subgraph")
    sub = model.Subgraphs(0)
    tensors = []
    for i in _vector(sub.TensorsLength(), limit, "tensors"):
        t = sub.Tensors(i)
        shape = tuple(int(t.Shape(j)) for j in _vector(t.ShapeLength(), limit, "shape"))
        dtype, itemsize = _DTYPES.get(t.Type(), (f"type{t.Type()}", 1))
        buf_index = t.Buffer()
        if not 0 <= buf_index < max(len(buffers), 1):
            raise ValueError(f"tensor {i} points at buffer {buf_index} of {len(buffers)}")
        data = buffers[buf_index] if buffers else 0
        scale: tuple[float, ...] = ()
        zero: tuple[int, ...] = ()
        q = t.Quantization()
        if q is not None:
            scale = tuple(float(q.Scale(j)) for j in _vector(q.ScaleLength(), limit, "scales"))
            zero = tuple(int(q.ZeroPoint(j)) for j in _vector(q.ZeroPointLength(), limit, "zero points"))
        name = (t.Name() or b"").decode(errors="replace")
        signature = tuple(int(t.ShapeSignature(j)) for j in _vector(t.ShapeSignatureLength(), limit, "signature"))
        tensors.append(TensorInfo(i, name, shape, dtype, itemsize, data > 0, data, scale, zero, signature))
    ops = []
    for i in _vector(sub.OperatorsLength(), limit, "operators"):
        op = sub.Operators(i)
        index = op.OpcodeIndex()
        if not 0 <= index < len(opcodes):
            raise ValueError(f"operator {i} has opcode index {index} of {len(opcodes)}")
        ins = tuple(int(op.Inputs(j)) for j in _vector(op.InputsLength(), limit, "op inputs"))
        outs = tuple(int(op.Outputs(j)) for j in _vector(op.OutputsLength(), limit, "op outputs"))
        if any(not -1 <= k < len(tensors) for k in ins + outs):
            raise ValueError(f"operator {i} refers to a tensor that does not exist")
        name, custom = opcodes[index]
        ops.append(OpInfo(i, name, ins, outs, custom, _options(op, name, schema)))
    inputs = tuple(int(sub.Inputs(j)) for j in _vector(sub.InputsLength(), limit, "inputs"))
    outputs = tuple(int(sub.Outputs(j)) for j in _vector(sub.OutputsLength(), limit, "outputs"))
    if any(not 0 <= k < len(tensors) for k in inputs + outputs):
        raise ValueError("graph inputs or outputs refer to a tensor that does not exist")
    return TFLiteGraph(tuple(tensors), tuple(ops), inputs, outputs, int(model.Version()), nsub, limit)


def _options(op, name: str, schema) -> tuple[tuple[str, object], ...]:
    """The builtin options a cost rule needs; everything else is left unread."""
    if name == "BATCH_MATMUL" and op.BuiltinOptionsType() == schema.BuiltinOptions.BatchMatMulOptions:
        table = op.BuiltinOptions()
        opts = schema.BatchMatMulOptions()
        opts.Init(table.Bytes, table.Pos)
        return (("adj_x", bool(opts.AdjX())), ("adj_y", bool(opts.AdjY())))
    return ()


def parse_tflite(buf: bytes, label: str = "model") -> TFLiteGraph:
    """Parse flatbuffer bytes; raise ModelFileError naming ``label`` if they are not a sound TFLite model."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError(f"{label} is not a TFLite model (no TFL3 identifier); it may be truncated or "
                             "another format")
    (root,) = struct.unpack_from("<I", buf, 0)
    if root >= len(buf):
        raise ModelFileError(f"{label} is truncated or corrupt: its root table lies past the end of the file")
    try:
        return _read(bytes(buf), _schema())
    except ModelFileError:
        raise
    except struct.error:
        raise ModelFileError(f"{label} is truncated or corrupt: an offset in it points past the end of its "
                             f"{len(buf):,} bytes") from None
    except Exception as err:  # any malformed offset surfaces as one of many exception types
        raise ModelFileError(f"{label} is truncated or corrupt: {err or type(err).__name__}") from None


def read_tflite(path: str | Path) -> TFLiteGraph:
    """Read and verify a ``.tflite`` file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} not found; check the path")
    try:
        buf = path.read_bytes()
    except OSError as err:
        raise ModelFileError(f"cannot read {str(path)!r}: {err.strerror}") from None
    return parse_tflite(buf, repr(str(path)))
