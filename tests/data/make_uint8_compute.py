"""Regenerate ``tiny_uint8_compute.tflite``: ``python tests/data/make_uint8_compute.py`` (no TensorFlow).

A model whose convolutions compute in uint8, as TF1's quantization-aware training produced them (the "older
uint8 models"). TF 2's converter no longer writes such files, so this rewrites ``tiny_int8.tflite``: every int8
tensor becomes uint8 with its zero point and stored values shifted by +128, which represents the same numbers.
``tiny_uint8.tflite`` is different: uint8 only at its input and output, converted by QUANTIZE ops around an
int8 graph.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

HERE = Path(__file__).resolve().parent


def to_uint8(buf: bytes) -> bytes:
    model = schema.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    for tensor in model.subgraphs[0].tensors:
        if tensor.type != schema.TensorType.INT8:
            continue
        tensor.type = schema.TensorType.UINT8
        q = tensor.quantization
        q.zeroPoint = [int(z) + 128 for z in q.zeroPoint]
        data = model.buffers[tensor.buffer].data
        if data is not None and len(data):
            shifted = np.asarray(data, dtype=np.uint8).view(np.int8).astype(np.int16) + 128
            model.buffers[tensor.buffer].data = shifted.astype(np.uint8)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main() -> None:
    (HERE / "tiny_uint8_compute.tflite").write_bytes(to_uint8((HERE / "tiny_int8.tflite").read_bytes()))


if __name__ == "__main__":
    main()
