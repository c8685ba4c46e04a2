"""Same answers on the device: run a model once on a fixed input, and compare two machines' outputs.

numpy only and Python 3.7 compatible: it is copied to the device beside ``loop.py`` (``targets.remote``).
The input is made from integer arithmetic (no random generator, no libm), so every machine feeds the same
bytes. ``compare`` reports ``{max_abs_diff, max_diff_steps, top1_agree}``; a step is one quantization step
(the output scale) of an integer output.
"""

from __future__ import annotations

import base64

import numpy as np

MAX_STEPS = 1  # quantized outputs may differ by one step (rounding in different kernels)
MAX_RELATIVE = 1e-4  # float outputs: max |diff| over max |local output|


def fixed_input(detail: dict) -> np.ndarray:
    """A deterministic input for a tensor: a multiplicative hash of the index, spread over the dtype's range."""
    shape = [int(d) for d in detail["shape"]]
    dtype = np.dtype(detail["dtype"])
    n = int(np.prod(shape)) if shape else 1
    u = ((np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(65536)).astype(np.float64) / 65535.0
    if dtype.kind == "f":
        return (u * 2.0 - 1.0).astype(dtype).reshape(shape)
    if dtype.kind == "b":
        return (u > 0.5).reshape(shape)
    info = np.iinfo(dtype)
    return np.clip(np.floor(u * (float(info.max) - info.min + 1)) + info.min, info.min, info.max).astype(
        dtype).reshape(shape)


def run_fixed(interpreter) -> list:
    """Invoke once on the fixed input; the outputs as ``encode``d dicts, in output order."""
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], fixed_input(detail))
    interpreter.invoke()
    return [encode(interpreter.get_tensor(d["index"]), d) for d in interpreter.get_output_details()]


def encode(array: np.ndarray, detail: dict) -> dict:
    """An output as JSON: dtype, shape, quantization scale and the raw bytes in base64."""
    scale = float((detail.get("quantization") or (0.0, 0))[0])
    return {"name": detail.get("name"), "dtype": array.dtype.str, "shape": list(array.shape), "scale": scale,
            "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()}


def decode(doc: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(doc["data"]), dtype=np.dtype(doc["dtype"])).reshape(doc["shape"])


def compare(local: list, remote: list) -> dict:
    """How far the device's outputs are from this machine's, over every output tensor.

    ``max_abs_diff`` is in real units (integer outputs dequantized by their scale); ``max_diff_steps`` counts
    quantization steps of integer outputs (None when every output is float); ``max_relative`` is
    ``max_abs_diff`` over the largest local magnitude of float outputs; ``top1_agree`` compares the arg max of
    the first output, row by row.
    """
    if len(local) != len(remote):
        raise ValueError(f"{len(local)} local outputs, {len(remote)} on the device")
    abs_diff, steps, relative = 0.0, None, None
    for i, a_doc in enumerate(local):  # (no zip(strict=...): this file runs on Python 3.7)
        a, b = decode(a_doc), decode(remote[i])
        if a.shape != b.shape:
            raise ValueError(f"output shapes differ: {a.shape} here, {b.shape} on the device")
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        top = float(diff.max()) if diff.size else 0.0
        if a.dtype.kind in "iu":
            steps = max(steps or 0, round(top))
            top *= a_doc["scale"] or 1.0
        else:
            scale = float(np.abs(a).max()) if a.size else 0.0
            relative = max(relative or 0.0, top / scale if scale else top)
        abs_diff = max(abs_diff, top)
    first_a, first_b = decode(local[0]), decode(remote[0])
    rows = first_a.reshape(first_a.shape[0] if first_a.ndim > 1 else 1, -1)
    agree = bool(np.array_equal(rows.argmax(axis=1), first_b.reshape(rows.shape).argmax(axis=1)))
    return {"max_abs_diff": abs_diff, "max_diff_steps": steps, "max_relative": relative, "top1_agree": agree}


def disagreement(report: dict) -> str | None:
    """A warning with the numbers when the outputs differ beyond tolerance, else None."""
    too_far = []
    if report["max_diff_steps"] is not None and report["max_diff_steps"] > MAX_STEPS:
        too_far.append(f"{report['max_diff_steps']} quantization steps (allowed {MAX_STEPS})")
    if report["max_relative"] is not None and report["max_relative"] > MAX_RELATIVE:
        too_far.append(f"relative {report['max_relative']:.2g} (allowed {MAX_RELATIVE:g})")
    if not report["top1_agree"]:
        too_far.append("a different top-1 class")
    if not too_far:
        return None
    return (f"outputs differ from this machine's on the fixed input: {', '.join(too_far)}; max |diff| "
            f"{report['max_abs_diff']:.4g}")
