"""How far the converted model drifts from the float one, on held-out inputs.

The comparison informs only when the float outputs say something: a model whose outputs are flat (a
random-weight 1000-way softmax gives about 0.001 everywhere) quantizes to one int8 value per output, and top-1
agreement, cosine and SQNR then compare rounding, not the model. :func:`flat_outputs` says when, and why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edgekit.runtime.quant import dequantize, quantize


@dataclass(frozen=True)
class Fidelity:
    """Converted vs float outputs over ``samples`` held-out inputs from ``source``.

    ``top1_agreement`` is the share of inputs whose arg-max class matches; ``cosine`` the mean per-sample
    cosine similarity (0 for a sample whose converted output is all zero while the float one is not);
    ``sqnr_db`` is ``10 log10(sum f^2 / sum (f - q)^2)`` over all outputs. ``flat`` is None, or why these
    figures do not inform (:func:`flat_outputs`).
    """

    samples: int
    source: str
    top1_agreement: float
    cosine: float
    sqnr_db: float
    max_abs_error: float
    flat: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def interpreter(model: bytes, threads: int = 2):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    return it


def run_tflite(model: bytes, x: np.ndarray) -> np.ndarray:
    """Run the converted model one input at a time; float in, float (dequantized) out."""
    it = interpreter(model)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for i in range(len(x)):
        it.set_tensor(inp["index"], quantize(x[i:i + 1], inp))
        it.invoke()
        ys.append(dequantize(it.get_tensor(out["index"]), out).astype(np.float32))
    return np.concatenate(ys)


def output_step(graph) -> float | None:
    """The converted model's first output's quantization step: its own scale, or (float output) the scale of
    the integer tensor its DEQUANTIZE reads; None for a float model."""
    tensor = graph.tensors[graph.outputs[0]]
    if not tensor.scale and tensor.dtype.startswith("float"):
        producer = next((op for op in graph.ops if graph.outputs[0] in op.outputs), None)
        if producer is None or producer.opcode != "DEQUANTIZE":
            return None
        tensor = graph.tensors[producer.inputs[0]]
    return float(tensor.scale[0]) if len(tensor.scale) == 1 and tensor.scale[0] > 0 else None


def flat_outputs(reference: np.ndarray, step: float | None = None) -> str | None:
    """Why the float outputs cannot inform a comparison, or None: all equal, the same for every input, or
    spread (within each input) over less than one ``step`` of the converted model's output quantization."""
    f = reference.reshape(len(reference), -1).astype(np.float64)
    if f.size == 0:
        return None
    if np.ptp(f) == 0:
        return f"the float model's outputs are all equal ({f.flat[0]:.4g})"
    spread = float(np.ptp(f, axis=1).max())
    if step is not None and f.shape[1] > 1 and spread < step:
        return (f"the float outputs differ by at most {spread:.2g} within an input ({f.shape[1]} outputs near "
                f"{float(np.abs(f).mean()):.2g}), under one int8 output step ({step:.2g}): the int8 model cannot "
                "tell them apart")
    if len(f) > 1 and float(np.ptp(f, axis=0).max()) <= 1e-6 * max(float(np.abs(f).max()), 1e-30):
        return f"the float model gives the same outputs for all {len(f)} held-out inputs"
    return None


def compare(reference: np.ndarray, converted: np.ndarray, source: str, step: float | None = None) -> Fidelity:
    """The figures of :class:`Fidelity`; ``step`` is the converted output's quantization step, if any."""
    f = reference.reshape(len(reference), -1).astype(np.float64)
    q = converted.reshape(len(converted), -1).astype(np.float64)
    nf, nq = np.linalg.norm(f, axis=1), np.linalg.norm(q, axis=1)
    both_zero = (nf == 0) & (nq == 0)  # identical; one zero and not the other: no direction in common
    cosine = np.where(both_zero, 1.0, (f * q).sum(axis=1) / np.maximum(nf * nq, 1e-30))
    noise = float(((f - q) ** 2).sum())
    sqnr = math.inf if noise == 0 else 10 * math.log10(max(float((f ** 2).sum()), 1e-30) / noise)
    return Fidelity(len(f), source, float((f.argmax(1) == q.argmax(1)).mean()), float(cosine.mean()),
                    round(sqnr, 2) if math.isfinite(sqnr) else 999.0, float(np.abs(f - q).max()),
                    flat_outputs(reference, step))


def not_informative(fid: Fidelity) -> str:
    """The one line a report prints beside flat figures."""
    return (f"these figures are not informative: {fid.flat}; they measure rounding, not the model "
            "(random weights do this: convert trained weights to judge the int8 model)")
