"""Quantize float input and dequantize output with a tensor's scale and zero point (numpy only)."""

from __future__ import annotations

import numpy as np

_INTEGER = {np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int16)}


def _params(detail: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-tensor or per-axis (scale, zero_point); scale 0 means not quantized."""
    q = detail.get("quantization_parameters") or {}
    scales = np.asarray(q.get("scales", ()), dtype=np.float64)
    zeros = np.asarray(q.get("zero_points", ()), dtype=np.float64)
    if scales.size == 0:
        scale, zero = detail.get("quantization", (0.0, 0))
        scales, zeros = np.asarray([scale], np.float64), np.asarray([zero], np.float64)
    return scales, zeros


def is_quantized(detail: dict) -> bool:
    return np.dtype(detail["dtype"]) in _INTEGER and bool(np.any(_params(detail)[0] != 0))


def quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float -> the tensor's integer type: ``round(x / scale) + zero_point``, clipped to the type's range."""
    dtype = np.dtype(detail["dtype"])
    if not is_quantized(detail):
        return np.asarray(x, dtype=dtype)
    scale, zero = _params(detail)
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, detail: dict) -> np.ndarray:
    """The tensor's integer values -> float32: ``(q - zero_point) * scale``; floats pass through."""
    if not is_quantized(detail):
        return np.asarray(q)
    scale, zero = _params(detail)
    return ((np.asarray(q, dtype=np.float64) - zero) * scale).astype(np.float32)
