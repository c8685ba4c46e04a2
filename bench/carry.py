"""Carry a float ``.tflite`` to a machine without TensorFlow, small: its float weights zeroed and the file
gzipped (VGG-16 fp32, 553 MB, packs to under 1 MB), then refilled there with seeded random values.

The GPU check (scripts/gpu_check.sh) converts models here and runs them on a machine that has no TensorFlow
and takes at most 64 MiB of files along. Latency does not depend on the weights' values, so random ones
measure the same work; they are drawn at He scale (std sqrt(2 / fan-in)) so activations stay near unit size
and CPU timings never slow down on denormal floats. Only float32 and float16 constants change: integer
constants (shapes, axes) and quantized weights keep their bytes.

    python -m bench.carry pack model.tflite model.tflite.gz
    python -m bench.carry unpack model.tflite.gz model.tflite
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError


def _float_constants(buf: bytearray) -> Iterator[tuple[np.ndarray, tuple[int, ...]]]:
    """Each float constant's bytes as a writable float view into ``buf``, with its tensor's shape."""
    from ai_edge_litert import schema_py_generated as schema

    floats = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT16: np.float16}
    model = schema.Model.GetRootAs(buf, 0)
    seen: set[int] = set()
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for i in range(sub.TensorsLength()):
            tensor = sub.Tensors(i)
            dtype, index = floats.get(tensor.Type()), tensor.Buffer()
            if dtype is None or index in seen or index >= model.BuffersLength():
                continue
            data = model.Buffers(index).DataAsNumpy()
            if isinstance(data, int) or data.size == 0:  # no inline data: an activation, not a constant
                continue
            if model.Buffers(index).Offset() > 1:
                raise ModelFileError("a .tflite with weights outside the flatbuffer (over 2 GB) cannot be carried")
            seen.add(index)
            yield data.view(dtype), tuple(int(d) for d in tensor.ShapeAsNumpy())


def _he_std(shape: tuple[int, ...]) -> float:
    """sqrt(2 / fan-in) for a TFLite weight: OHWI convolution and (out, in) dense weights take the product of
    all but the first axis, depthwise (1, H, W, C) only H x W; vectors (biases) are drawn small."""
    if len(shape) < 2:
        return 0.01
    fan_in = int(np.prod(shape[1:-1] if shape[0] == 1 and len(shape) == 4 else shape[1:]))
    return float(np.sqrt(2.0 / max(fan_in, 1)))


def pack(src: str | Path, dst: str | Path) -> int:
    """Write ``src`` with its float constants zeroed, gzipped, to ``dst``; return the bytes written."""
    buf = bytearray(Path(src).read_bytes())
    for view, _ in _float_constants(buf):
        view[:] = 0
    Path(dst).write_bytes(gzip.compress(bytes(buf), compresslevel=6, mtime=0))
    return Path(dst).stat().st_size


def unpack(src: str | Path, dst: str | Path, seed: int = 0) -> int:
    """Un-gzip ``src`` to ``dst`` with every float constant drawn from N(0, He std); return the float count."""
    buf = bytearray(gzip.decompress(Path(src).read_bytes()))
    rng = np.random.default_rng(seed)
    count = 0
    for view, shape in _float_constants(buf):
        view[:] = (rng.standard_normal(view.size, np.float32) * _he_std(shape)).astype(view.dtype)
        count += view.size
    Path(dst).write_bytes(bytes(buf))
    return count


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("pack", "unpack"):
        print("usage: python -m bench.carry pack|unpack SRC DST", file=sys.stderr)
        return 2
    n = (pack if args[0] == "pack" else unpack)(args[1], args[2])
    print(f"{args[0]}ed {args[1]} -> {args[2]} ({n:,} {'bytes' if args[0] == 'pack' else 'floats drawn'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
