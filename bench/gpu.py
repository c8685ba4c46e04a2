"""The ``gpu`` target: a ``.tflite`` run through LiteRT's GPU accelerator (``CompiledModel``).

Runs inside ``bench.child``. With no usable GPU, LiteRT raises while compiling for the accelerator; that
becomes a ``NoGpuError`` naming what was looked for and what LiteRT said. The Keras baseline (on JAX, PyTorch
or TensorFlow) lives in ``converters.keras_gpu``.

Each timed call reads every output back to the host (``SYNC``). ``CompiledModel.run_by_index`` returns once the
work is queued: on Mesa's software Vulkan it returns in 0.3 ms while the GPU work it queued takes 100 ms, and
the next read of an output waits for it. LiteRT's documentation does not say that ``run_by_index`` waits (its
Python guide runs the model, then reads the output), so the latency timed here is the one a user gets with the
output in hand. tests/test_bench_gpu.py fails if the loop stops waiting.

LiteRT logs the adapter it chose ("Selected adapter: NVIDIA H200, ..., adapterType=Discrete GPU") to the
process's stderr; the result records it, and a software adapter (Mesa's lavapipe, "adapterType=CPU /
Software") marks the result ``emulated``: its timings are the CPU's, never a GPU's speed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from bench.energy import with_energy
from bench.loop import measure_calls, synthetic_input
from edgekit.errors import EdgekitError

SYNC = "readback"  # how a timed call waits for the GPU: it reads every output back (see the module docstring)
EMULATED_WARNING = ("emulated: LiteRT's GPU accelerator ran on {adapter}, a software Vulkan driver on the CPU; "
                    "these timings are the CPU's, not a GPU's speed")
_ADAPTER = re.compile(r"Selected adapter: (?P<name>.*?), arch=(?P<arch>[^,]*), vendor=(?P<vendor>[^,]*), "
                      r"backend=(?P<backend>[^,]*), adapterType=(?P<type>[^\n]*)")


class NoGpuError(EdgekitError):
    """No GPU that LiteRT (or TensorFlow) can use."""


@dataclass(frozen=True)
class Adapter:
    """The GPU adapter LiteRT's WebGPU accelerator chose, as it logged it."""

    name: str
    arch: str
    vendor: str
    backend: str
    type: str

    @property
    def emulated(self) -> bool:
        """A software rasteriser on the CPU (lavapipe/llvmpipe, SwiftShader), not a GPU."""
        return self.type.strip().lower().startswith("cpu") or self.arch.strip() == "software"

    def to_dict(self) -> dict:
        return {"name": self.name, "arch": self.arch, "vendor": self.vendor, "backend": self.backend,
                "type": self.type}


def parse_adapter(log: str) -> Adapter | None:
    """The adapter named in LiteRT's log, or None when it named none (another accelerator, or no GPU)."""
    m = _ADAPTER.search(log)
    return Adapter(**{k: v.strip() for k, v in m.groupdict().items()}) if m else None


def _captured_stderr(fn):
    """Run ``fn()`` with file descriptor 2 going to a temporary file; return its result (or exception) and what
    was written there. LiteRT's C++ logs go to fd 2, below Python; they are passed on to stderr afterwards."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            result, error = fn(), None
        except RuntimeError as err:
            result, error = None, err
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    sys.stderr.write(text)
    return result, error, text


def _reason(err: BaseException, log: str) -> str:
    """What LiteRT said, in one line: the adapter's refusal when it logged one, else its last error line."""
    lines = [ln.strip() for ln in log.splitlines()]
    said = [ln for ln in lines if ln.startswith("Warning:") and "artificially" not in ln]  # Dawn: why not
    said += [ln.split("] ", 1)[-1] for ln in lines if "Failed to initialize WebGPU environment" in ln]
    if said:
        return "; ".join(dict.fromkeys(said))
    return _first(err)


def compile_for_gpu(path: str) -> tuple[object, Adapter | None]:
    """A CompiledModel on the GPU, with CPU fallback for ops the GPU cannot run, and the adapter chosen."""
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator

    model, err, log = _captured_stderr(lambda: CompiledModel.from_file(
        path, hardware_accel=HardwareAccelerator.GPU | HardwareAccelerator.CPU))
    if err is not None:
        raise NoGpuError(f"no usable GPU: LiteRT's GPU accelerator could not start (looked for a WebGPU/Vulkan, "
                         f"OpenCL or Metal GPU adapter; LiteRT said: {_reason(err, log)})") from None
    return model, parse_adapter(log)


def _first(err: BaseException) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip() and not ln.startswith(("===", "third_party"))]
    return lines[-1].strip().lstrip("└ ") if lines else type(err).__name__


@dataclass(frozen=True)
class GpuModel:
    """A model compiled for the GPU with its buffers filled: ``dispatch`` queues one inference, ``readback``
    copies every output to the host (waiting for the GPU), ``call`` is both: what the timed loop times."""

    model: object
    inputs: list
    outputs: list
    output_details: list
    adapter: Adapter | None

    def dispatch(self) -> None:
        self.model.run_by_index(0, self.inputs, self.outputs)

    def readback(self) -> list[np.ndarray]:
        return [buf.read(int(np.prod(d["shape"])), d["dtype"]) for buf, d in
                zip(self.outputs, self.output_details, strict=True)]

    def call(self) -> None:
        self.dispatch()
        self.readback()


def open_gpu(path: str) -> GpuModel:
    """Compile ``path`` for the GPU and fill its inputs with random data (``bench.loop.synthetic_input``)."""
    model, adapter = compile_for_gpu(path)
    signature = next(iter(model.get_signature_list()))
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    for buf, detail in zip(inputs, model.get_input_tensor_details(signature).values(), strict=True):
        buf.write(synthetic_input(detail))
    return GpuModel(model, inputs, outputs, list(model.get_output_tensor_details(signature).values()), adapter)


def run_gpu(cfg: dict) -> dict:
    """Init, first run and timed runs of ``cfg['path']`` on the GPU, as ``bench.child`` reports them."""
    from importlib import metadata

    t0 = time.perf_counter()
    gpu = open_gpu(cfg["path"])
    init_ms = (time.perf_counter() - t0) * 1e3
    out = with_energy("gpu", lambda: measure_calls(gpu.call, warmup=cfg["warmup"], min_runs=cfg["runs"],
                                                   min_seconds=cfg["min_seconds"]))  # NVML where it can be read
    emulated = bool(gpu.adapter and gpu.adapter.emulated)
    return {"init_ms": init_ms, **out, "backend": "ai_edge_litert.CompiledModel",
            "backend_version": metadata.version("ai-edge-litert"), "accelerator": "litert-gpu",
            "fully_accelerated": bool(gpu.model.is_fully_accelerated()), "sync": SYNC,
            "gpu_adapter": gpu.adapter.to_dict() if gpu.adapter else None, "emulated": emulated}
