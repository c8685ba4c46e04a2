"""Read a ``.tflite`` flatbuffer into plain Python records, without TensorFlow and without crashing.

Parsing is pure Python over the schema that ai-edge-litert ships, so a malformed file can raise but never
bring the interpreter down. Every offset read is bounds-checked by Python, every vector length is checked
against the file size before it is walked, and any failure becomes a ModelFileError. The runtime calls
:func:`read_tflite` before handing a file to the C++ loader, which can crash on bad input.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

from edgekit.errors import ModelFileError

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"  # the op edgetpu_compiler writes (libedgetpu's edgetpu::kCustomOp)

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
    values: tuple[int, ...] = ()  # the data of a small int32/int64 constant (axes, paddings, strides, sizes)

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.itemsize


@dataclass(frozen=True)
class OpInfo:
    index: int
    opcode: str  # builtin name ("CONV_2D"), the custom code of a custom op, or BUILTIN_<n> for an unknown code
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    # the builtin options as the schema names them, e.g. {"alignCorners": True}; {} when the op has none
    options: dict = field(default_factory=dict, compare=False)
    custom_bytes: int = 0  # size of the op's custom options (a compiled Edge TPU op keeps its program there)
    custom: bool = False  # a custom op: its name is the file's custom_code ("CUSTOM" when it has none)

    def option(self, name: str, default=None):
        """A builtin option by its snake_case name (``adj_x``) or the schema's camelCase one (``adjX``)."""
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
        return self.options.get(name, self.options.get(camel, default))


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

    @property
    def compiled_for_edgetpu(self) -> bool:
        """True when edgetpu_compiler wrote this graph: it holds an ``edgetpu-custom-op``."""
        return any(op.opcode == EDGETPU_CUSTOM_OP for op in self.ops)


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
        custom = code.CustomCode()
        if builtin == schema.BuiltinOperator.CUSTOM:
            opcodes.append((custom.decode(errors="replace") if custom else "CUSTOM", True))
        else:
            opcodes.append((names.get(builtin, f"BUILTIN_{builtin}"), False))
    buffers, small = [], {}
    for i in _vector(model.BuffersLength(), limit, "buffers"):
        b = model.Buffers(i)
        buffers.append(b.DataLength() or (b.Size() if b.Offset() > 1 else 0))
        if 0 < b.DataLength() <= _SMALL_BYTES:
            small[i] = bytes(b.Data(j) for j in range(b.DataLength()))
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
        values = _ints(small.get(buf_index, b""), dtype)
        tensors.append(TensorInfo(i, name, shape, dtype, itemsize, data > 0, data, scale, zero, signature, values))
    ops = []
    kinds = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
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
        ops.append(OpInfo(i, name, ins, outs, _options(op, schema, kinds), op.CustomOptionsLength(), custom))
    inputs = tuple(int(sub.Inputs(j)) for j in _vector(sub.InputsLength(), limit, "inputs"))
    outputs = tuple(int(sub.Outputs(j)) for j in _vector(sub.OutputsLength(), limit, "outputs"))
    if any(not 0 <= k < len(tensors) for k in inputs + outputs):
        raise ValueError("graph inputs or outputs refer to a tensor that does not exist")
    return TFLiteGraph(tuple(tensors), tuple(ops), inputs, outputs, int(model.Version()), nsub, limit)


_SMALL_BYTES = 64  # int constants up to this size are kept as values: 16 int32 or 8 int64


def _ints(data: bytes, dtype: str) -> tuple[int, ...]:
    fmt = {"int32": "i", "int64": "q"}.get(dtype)
    if not data or fmt is None or len(data) % struct.calcsize(fmt):
        return ()
    return struct.unpack(f"<{len(data) // struct.calcsize(fmt)}{fmt}", data)


def _options(op, schema, kinds: dict[int, str]) -> dict:
    """The op's builtin options as a plain dict of scalars (vectors and nested tables are left out)."""
    name = kinds.get(op.BuiltinOptionsType())
    table = op.BuiltinOptions()
    cls = getattr(schema, f"{name}T", None) if name and name != "NONE" else None
    if cls is None or table is None:
        return {}
    values = vars(cls.InitFromBuf(table.Bytes, table.Pos))
    return {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}


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
