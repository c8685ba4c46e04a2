"""The ``gpu`` target: a ``.tflite`` run through LiteRT's GPU accelerator (``CompiledModel``).

Runs inside ``bench.child``. With no usable GPU, LiteRT raises while compiling for the accelerator; that
becomes a ``NoGpuError`` naming what was looked for. The Keras baseline (on JAX, PyTorch or TensorFlow) lives
in ``converters.keras_gpu``.
"""

from __future__ import annotations

import time

from bench.energy import with_energy
from bench.loop import measure_calls, synthetic_input
from edgekit.errors import EdgekitError


class NoGpuError(EdgekitError):
    """No GPU that LiteRT (or TensorFlow) can use."""


def compile_for_gpu(path: str):
    """A CompiledModel on the GPU, with CPU fallback for ops the GPU cannot run."""
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator

    try:
        return CompiledModel.from_file(path, hardware_accel=HardwareAccelerator.GPU | HardwareAccelerator.CPU)
    except RuntimeError as err:
        raise NoGpuError(f"no usable GPU: LiteRT's GPU accelerator could not start (looked for a WebGPU/Vulkan, "
                         f"OpenCL or Metal GPU adapter; LiteRT said: {_first(err)})") from None


def _first(err: BaseException) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip() and not ln.startswith(("===", "third_party"))]
    return lines[-1].strip().lstrip("└ ") if lines else type(err).__name__


def run_gpu(cfg: dict) -> dict:
    """Init, first run and timed runs of ``cfg['path']`` on the GPU, as ``bench.child`` reports them."""
    from importlib import metadata

    t0 = time.perf_counter()
    model = compile_for_gpu(cfg["path"])
    signature = next(iter(model.get_signature_list()))
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    details = model.get_input_tensor_details(signature)
    for buf, detail in zip(inputs, details.values(), strict=True):
        buf.write(synthetic_input(detail))
    init_ms = (time.perf_counter() - t0) * 1e3

    def run() -> None:
        model.run_by_index(0, inputs, outputs)

    out = with_energy("gpu", lambda: measure_calls(run, warmup=cfg["warmup"], min_runs=cfg["runs"],
                                                   min_seconds=cfg["min_seconds"]))
    return {"init_ms": init_ms, **out, "backend": "ai_edge_litert.CompiledModel",
            "backend_version": metadata.version("ai-edge-litert"), "accelerator": "litert-gpu",
            "fully_accelerated": bool(model.is_fully_accelerated())}
