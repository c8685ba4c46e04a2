"""TensorFlow's int8 quantizer for a model with very large fully-connected weights, in pieces (issue 22).

TF's MLIR quantizer holds several copies of every weight while it runs: on VGG-16's calibrated model it peaks at
4.2 GB in a process that loads nothing else (``converters.tf_private.quantize``), 3.3 GB more than its input.
With the dense kernels of 8M weights or more (VGG-16's 25088 x 4096 and 4096 x 4096) replaced by one repeated
value, which MLIR stores once (an undocumented behaviour: ``converters.tf_private.BEHAVIOURS``), it peaks at 3.6 GB.
Quantizing a dense layer per output channel is a function of each channel's weight row, its bias, and the scales
of the layer's input and output, which come from calibration, not from the weights. So:

1. TF's quantizer runs on a copy of the calibrated model with those kernels replaced, and lays the result out
   exactly as it would the real one (same tensors, buffers and sizes);
2. TF's quantizer runs again on small models of one dense layer each (a block of the kernel's rows, their bias,
   and the layer's input and output with ranges that quantize to the scales step 1 gave them), giving the real
   int8 rows, scales and int32 bias;
3. those are written into the result from step 1, in place.

Every piece is checked as it is assembled (its input and output scales against the whole model's, every type and
length), and ``tests/test_convert_memory.py`` checks that the file is the bytes TF's quantizer writes in one piece.

One job over 250 lines: the three steps share the walks of TF's flatbuffer (the dense layers, their tensors and
quantization), and a piece is only safe to write where those walks check it; split, each half would need the other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np

from converters.tf_private import schema
from edgekit.errors import EdgekitError

CHUNK_FROM_ELEMENTS = 8 * 2**20  # dense kernels from 8M weights (32 MB) go in pieces
ROWS_PER_PIECE_ELEMENTS = 4 * 2**20  # about this many weights per one-layer model

Quantize = Callable[[bytes, bool], bytes]  # TF's quantizer as the converter calls it: (model, float io) -> model
_ARRAYS = ("kernel", "kernel_scale", "kernel_zero", "bias", "bias_scale", "bias_zero")


class ChunkError(EdgekitError):
    """The pieces did not fit the whole (a TensorFlow whose quantizer works otherwise)."""


def large_dense(model: bytes | bytearray, min_elements: int = CHUNK_FROM_ELEMENTS) -> list[tuple[int, int, int]]:
    """(operator, kernel tensor, bias tensor or -1) of each FULLY_CONNECTED whose constant float32 kernel has at
    least ``min_elements`` weights, in the first subgraph."""
    fb = schema()
    root = fb.Model.GetRootAs(model, 0)
    sub = root.Subgraphs(0)
    users: dict[int, int] = {}  # buffer -> tensors reading it, in every subgraph
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            users[graph.Tensors(t).Buffer()] = users.get(graph.Tensors(t).Buffer(), 0) + 1
    found = []
    for i, op in _dense(root):
        inputs = op.InputsAsNumpy()
        kernel = sub.Tensors(int(inputs[1]))
        if kernel.Type() != fb.TensorType.FLOAT32 or kernel.ShapeLength() != 2:
            continue
        if root.Buffers(kernel.Buffer()).DataLength() < 4 * min_elements or users[kernel.Buffer()] != 1:
            continue
        found.append((i, int(inputs[1]), int(inputs[2]) if len(inputs) > 2 else -1))
    return found


def quantize(calibrated: Path, quantizer: Quantize, min_elements: int = CHUNK_FROM_ELEMENTS, *,
             piece_elements: int = ROWS_PER_PIECE_ELEMENTS) -> tuple[bytes, int]:
    """TF's quantizer on the calibrated model in the file ``calibrated``, with the large dense kernels in pieces;
    the quantized model and how many kernels went in pieces. The whole model is quantized first, while nothing
    else is held; the pieces come after."""
    placeholder = bytearray(calibrated.read_bytes())
    targets = large_dense(placeholder, min_elements)
    root = schema().Model.GetRootAs(placeholder, 0)
    sub = root.Subgraphs(0)
    outputs, data = [], None
    for n, (op, kernel, _bias) in enumerate(targets):
        data = root.Buffers(sub.Tensors(kernel).Buffer()).DataAsNumpy().view(np.float32)
        data[:] = np.float32(1.0 + n / 64)  # one value per kernel, each different: MLIR keeps one, never merges two
        outputs.append(_name(sub.Tensors(int(sub.Operators(op).OutputsAsNumpy()[0]))))
    del root, sub, data  # every flatbuffer view of the bytearray, so that it goes with its last name below
    model = bytes(placeholder)
    del placeholder
    result = bytearray(quantizer(model, False))
    del model
    if targets:
        model = calibrated.read_bytes()
        for name, target in zip(outputs, targets, strict=True):
            _patch(result, name, _pieces(model, target, quantizer, _io_of(result, name), piece_elements))
    return bytes(result), len(targets)


def _name(tensor) -> str:
    return tensor.Name().decode()


def _pieces(calibrated: bytes, target: tuple[int, int, int], quantizer: Quantize, io: tuple,
            piece_elements: int) -> dict:
    """The real quantized kernel rows, scales and bias of one dense layer, from one-layer models of row blocks
    (float input and output around the int8 layer). ``io`` is the layer's input and output quantization in the
    whole model: a neighbour may have set it (tanh fixes its output at 1/128), so each piece's input and output
    get the range that quantizes to exactly that (:func:`_ranges`), checked on a one-row piece first."""
    fb = schema()
    model = fb.ModelT.InitFromPackedBuf(calibrated, 0)
    sub = model.subgraphs[0]
    op = sub.operators[target[0]]
    kernel, bias = sub.tensors[target[1]], sub.tensors[target[2]] if target[2] >= 0 else None
    rows, cols = (int(d) for d in kernel.shape)
    weights = np.asarray(model.buffers[kernel.buffer].data).view(np.float32).reshape(rows, cols)
    bias_values = np.asarray(model.buffers[bias.buffer].data).view(np.float32) if bias is not None else None
    def piece(start: int, stop: int, ranges) -> dict:
        one = _one_layer(model, op, kernel, bias, weights[start:stop],
                         None if bias_values is None else bias_values[start:stop], ranges)
        return _read_piece(quantizer(one, True))

    ranges = next((r for r in _ranges(io) if piece(0, 1, r)["io"] == io), None)
    if ranges is None:
        raise ChunkError(f"no calibration range quantizes a one-layer model to the model's own input/output "
                         f"({_show(io)})")
    step = max(1, piece_elements // cols)
    parts = [piece(start, min(rows, start + step), ranges) for start in range(0, rows, step)]
    joined = {k: np.concatenate([p[k] for p in parts]) for k in _ARRAYS if k in parts[0]}
    same = {k: parts[0][k] for k in parts[0] if k not in _ARRAYS}
    consistent = all({k: p[k] for k in same} == same for p in parts)
    if not consistent or same["kernel_dim"] != 0:
        raise ChunkError("the pieces of one dense layer were quantized differently (input/output scales, types or "
                         "the per-channel axis)")
    return joined | same


def _io_of(result: bytearray, output_name: str) -> tuple:
    """The quantization of the input and output of the dense layer writing ``output_name``, as :func:`_read_piece`
    gives it."""
    sub, op = _fc_of(schema().Model.GetRootAs(result, 0), output_name)
    return tuple(tuple(map(_key, _quant(sub.Tensors(int(i))))) for i in (op.InputsAsNumpy()[0],
                                                                          op.OutputsAsNumpy()[0]))


def _ranges(io: tuple):
    """Calibration ranges (min, max) for the input and output that TF quantizes to ``io``'s int8 scale and zero
    point: ``(-128 - zp) * scale`` and ``(127 - zp) * scale``, and, since the range is stored in float32, the
    neighbouring floats of each end (TF divides their difference by 255 in double precision)."""
    exact = []
    for scale_bytes, zero_bytes, _dim in io:
        scale, zero = float(np.frombuffer(scale_bytes, np.float32)[0]), int(np.frombuffer(zero_bytes, np.int64)[0])
        exact.append((np.float32((-128 - zero) * scale), np.float32((127 - zero) * scale)))

    def around(lo, hi):
        lows = (lo, np.nextafter(lo, np.float32(-np.inf)), np.nextafter(lo, np.float32(np.inf)))
        highs = (hi, np.nextafter(hi, np.float32(np.inf)), np.nextafter(hi, np.float32(-np.inf)))
        return [(a, b) for a in lows for b in highs]

    for pair_in in around(*exact[0]):
        for pair_out in around(*exact[1]):
            yield pair_in, pair_out


def _one_layer(model, op, kernel, bias, weights: np.ndarray, bias_values: np.ndarray | None, ranges) -> bytes:
    """A calibrated model of one FULLY_CONNECTED: the layer's input and output with calibration ``ranges`` and a
    block of its kernel rows and bias."""
    import copy

    fb = schema()
    sub = model.subgraphs[0]
    source_in, source_out = sub.tensors[op.inputs[0]], sub.tensors[op.outputs[0]]
    rows = weights.shape[0]
    one = fb.ModelT()
    one.version = model.version
    one.description = model.description
    one.operatorCodes = [copy.deepcopy(model.operatorCodes[op.opcodeIndex])]
    one.buffers = [fb.BufferT() for _ in range(5)]
    one.buffers[2].data = np.ascontiguousarray(weights).view(np.uint8).ravel()
    tensors = []
    for i, (src, shape, buffer) in enumerate(((source_in, source_in.shape, 1), (kernel, weights.shape, 2),
                                              (bias, (rows,), 3), (source_out, None, 4))):
        if src is None:
            continue
        t = copy.copy(src)
        t.buffer = buffer
        if i in (0, 3):
            q = fb.QuantizationParametersT()
            lo, hi = ranges[0 if i == 0 else 1]
            q.min, q.max = np.asarray([lo], np.float32), np.asarray([hi], np.float32)
            t.quantization = q
        if i == 3:
            out_shape = list(src.shape)
            out_shape[-1] = rows
            shape = out_shape
        t.shape = np.asarray(shape, dtype=np.int32)
        t.shapeSignature = None
        tensors.append(t)
    if bias is not None:
        one.buffers[3].data = np.ascontiguousarray(bias_values).view(np.uint8).ravel()
    graph = fb.SubGraphT()
    graph.tensors = tensors
    n = len(tensors)
    graph.inputs = np.asarray([0], dtype=np.int32)
    graph.outputs = np.asarray([n - 1], dtype=np.int32)
    layer = copy.copy(op)
    layer.opcodeIndex = 0
    layer.inputs = np.asarray(list(range(n - 1)), dtype=np.int32)
    layer.outputs = np.asarray([n - 1], dtype=np.int32)
    graph.operators = [layer]
    graph.name = sub.name
    one.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(one.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _dense(root):
    """(index, operator) of each FULLY_CONNECTED in the first subgraph of a flatbuffer Model."""
    fb = schema()
    sub = root.Subgraphs(0)
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = root.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == fb.BuiltinOperator.FULLY_CONNECTED:
            yield i, op


def _fc_of(root, output_name: str):
    """The FULLY_CONNECTED operator writing the tensor named ``output_name``, and its subgraph."""
    sub = root.Subgraphs(0)
    hits = [op for _, op in _dense(root) if _name(sub.Tensors(int(op.OutputsAsNumpy()[0]))) == output_name]
    if len(hits) != 1:
        raise ChunkError(f"the quantized model has {len(hits)} dense layers writing {output_name!r}, not one")
    return sub, hits[0]


def _quant(tensor) -> tuple[np.ndarray, np.ndarray, int]:
    q = tensor.Quantization()
    return q.ScaleAsNumpy().copy(), q.ZeroPointAsNumpy().copy(), q.QuantizedDimension()


def _read_piece(model: bytes) -> dict:
    root = schema().Model.GetRootAs(model, 0)
    sub = root.Subgraphs(0)
    dense = [op for _, op in _dense(root)]
    if len(dense) != 1:
        raise ChunkError(f"a one-layer model quantized to {len(dense)} dense layers")
    inputs = dense[0].InputsAsNumpy()
    kernel, out = sub.Tensors(int(inputs[1])), sub.Tensors(int(dense[0].OutputsAsNumpy()[0]))
    piece = {"kernel": root.Buffers(kernel.Buffer()).DataAsNumpy().copy(), "kernel_scale": _quant(kernel)[0],
             "kernel_zero": _quant(kernel)[1], "kernel_dim": _quant(kernel)[2], "kernel_type": kernel.Type(),
             "io": (_quant(sub.Tensors(int(inputs[0]))), _quant(out))}
    if len(inputs) > 2 and inputs[2] >= 0:
        bias = sub.Tensors(int(inputs[2]))
        piece |= {"bias": root.Buffers(bias.Buffer()).DataAsNumpy().copy(), "bias_scale": _quant(bias)[0],
                  "bias_zero": _quant(bias)[1], "bias_type": bias.Type()}
    piece["io"] = tuple(tuple(map(_key, q)) for q in piece["io"])
    return piece


def _show(io) -> str:
    return "; ".join(f"scale {np.frombuffer(s, np.float32)[:2]} zero point {np.frombuffer(z, np.int64)[:2]}"
                     for s, z, _dim in io)


def _key(value):
    return value.tobytes() if isinstance(value, np.ndarray) else value


def _patch(result: bytearray, output_name: str, piece: dict) -> None:
    """Write a dense layer's real kernel, bias and their scales over the placeholder's, in place."""
    fb = schema()
    root = fb.Model.GetRootAs(result, 0)
    sub, op = _fc_of(root, output_name)
    inputs = op.InputsAsNumpy()
    io = tuple(tuple(map(_key, _quant(sub.Tensors(int(i))))) for i in (inputs[0], op.OutputsAsNumpy()[0]))
    if io != piece["io"]:
        raise ChunkError(f"the dense layer writing {output_name!r} has other input/output scales in its pieces "
                         f"({_show(piece['io'])}) than in the model ({_show(io)})")
    _write(root, sub.Tensors(int(inputs[1])), piece["kernel"], piece["kernel_scale"], piece["kernel_zero"],
           piece["kernel_type"], output_name)
    if "bias" in piece:
        _write(root, sub.Tensors(int(inputs[2])), piece["bias"], piece["bias_scale"], piece["bias_zero"],
               piece["bias_type"], output_name)


def _write(root, tensor, data: np.ndarray, scale: np.ndarray, zero: np.ndarray, tensor_type: int, where: str) -> None:
    target = root.Buffers(tensor.Buffer()).DataAsNumpy()
    q = tensor.Quantization()
    scales, zeros = q.ScaleAsNumpy(), q.ZeroPointAsNumpy()
    if tensor.Type() != tensor_type or (target.size, scales.size, zeros.size) != (data.size, scale.size, zero.size):
        raise ChunkError(f"the dense layer writing {where!r}: its quantized {_name(tensor)!r} does not have the "
                         "pieces' type and lengths")
    target[:] = data
    scales[:] = scale
    zeros[:] = zero
