"""How far the converted model drifts from the float one, on held-out inputs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edgekit.runtime.quant import dequantize, quantize


@dataclass(frozen=True)
class Fidelity:
    """Converted vs float outputs over ``samples`` held-out inputs from ``source``.

    ``top1_agreement`` is the share of inputs whose arg-max class matches; ``cosine`` the mean per-sample
    cosine similarity; ``sqnr_db`` is ``10 log10(sum f^2 / sum (f - q)^2)`` over all outputs.
    """

    samples: int
    source: str
    top1_agreement: float
    cosine: float
    sqnr_db: float
    max_abs_error: float

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


def compare(reference: np.ndarray, converted: np.ndarray, source: str) -> Fidelity:
    f = reference.reshape(len(reference), -1).astype(np.float64)
    q = converted.reshape(len(converted), -1).astype(np.float64)
    norms = np.linalg.norm(f, axis=1) * np.linalg.norm(q, axis=1)
    cosine = np.where(norms > 0, (f * q).sum(axis=1) / np.maximum(norms, 1e-30), 1.0)
    noise = float(((f - q) ** 2).sum())
    sqnr = math.inf if noise == 0 else 10 * math.log10(max(float((f ** 2).sum()), 1e-30) / noise)
    return Fidelity(len(f), source, float((f.argmax(1) == q.argmax(1)).mean()), float(cosine.mean()),
                    round(sqnr, 2) if math.isfinite(sqnr) else 999.0, float(np.abs(f - q).max()))
