"""The Keras baseline beside LiteRT's GPU accelerator, timed with bench's loop. Application layer: it joins
converters (which runs Keras) and bench (which times).

Keras picks its backend once per process, and ``edgekit bench`` may already have loaded it (with TensorFlow,
to convert), so each baseline runs in a fresh process: ``python -m edgekit.app.gpu_baseline`` reads one JSON
request on stdin and writes one JSON object on stdout, as ``bench.child`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.loop import measure_calls
from bench.stats import summarize
from edgekit.errors import EdgekitError, UsageError

REPO = Path(__file__).resolve().parents[2]


def keras_baseline(model: str, *, device: str = "gpu", backend: str | None = None, runs: int, warmup: int,
                   min_seconds: float) -> dict:
    """In this process: time a zoo model's ``model(x, training=False)`` at batch 1 (random weights).

    Args:
        model: a zoo name.
        device: ``"gpu"`` or ``"cpu"``.
        backend: ``"jax"``, ``"torch"`` or ``"tensorflow"``; None reads ``KERAS_BACKEND``, else the first
            installed backend that can run on ``device``.
        runs, warmup, min_seconds: the bench protocol (``bench.loop.time_calls``).

    Returns:
        The backend, its version, the target (gpu or cpu) and device name, first-call and steady-state
        latency (ms), provenance, ``measured: True``, and ``tf_imported`` (False proves that a JAX or
        PyTorch run never loaded TensorFlow).
    """
    from bench.protocol import REL_HALFWIDTH, settled
    from bench.provenance import provenance
    from converters.keras_gpu import keras_call

    run, info = keras_call(model, device=device, backend=backend)
    out = measure_calls(run, warmup=warmup, min_runs=runs, min_seconds=min_seconds)
    stats = summarize(out["samples_ms"]).to_dict()
    return {**provenance(), **info, "model": model, "measured": True, "batch": 1, "first_ms": round(out["first_ms"], 3),
            "runs": stats.pop("runs"), "call_cv": round(stats.pop("cv"), 4),
            "noisy": not settled(out["samples_ms"], REL_HALFWIDTH),
            "latency_ms": {k: round(v, 4) for k, v in stats.items()}, "tf_imported": "tensorflow" in sys.modules}


def baseline_in_child(model: str, *, device: str = "gpu", backend: str | None = None, runs: int, warmup: int,
                      min_seconds: float, timeout: float = 900) -> dict:
    """``keras_baseline`` in a fresh interpreter; its error comes back as the same EdgekitError type."""
    from converters.keras_gpu import NoBackendError

    request = {"model": model, "device": device, "backend": backend, "runs": runs, "warmup": warmup,
               "min_seconds": min_seconds}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run([sys.executable, "-m", "edgekit.app.gpu_baseline"], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"the Keras baseline for {model} took over {timeout:.0f} s; lower --runs") from None
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EdgekitError(f"the Keras baseline process for {model} failed (exit {proc.returncode}): "
                           f"{tail[0]}") from None
    if "error" in doc:
        types = {"NoBackendError": NoBackendError, "UsageError": UsageError}
        raise types.get(doc["error_type"], EdgekitError)(doc["error"])
    return doc


def add_baselines(results: list[dict], *, runs: int, warmup: int, min_seconds: float) -> None:
    """Put the Keras-on-GPU figure (or why there is none) under ``"baseline"`` in each zoo model's result."""
    from converters.keras_gpu import NoBackendError
    from edgekit.models.registry import MODEL_NAMES

    no_backend = None
    for doc in results:
        if doc["model"] not in MODEL_NAMES:
            doc["baseline"] = {"skipped": "a .tflite file has no Keras model to compare with"}
            continue
        if no_backend is None:
            try:
                doc["baseline"] = baseline_in_child(doc["model"], runs=runs, warmup=warmup, min_seconds=min_seconds)
                continue
            except NoBackendError as err:
                no_backend = str(err)
            except EdgekitError as err:
                doc["baseline"] = {"skipped": f"the Keras baseline failed: {err}"}
                continue
        doc["baseline"] = {"skipped": no_backend}


def no_gpu_message(litert_reason: str) -> str:
    """One line naming everything looked for: LiteRT's GPU environment and each Keras backend's GPUs."""
    from converters.keras_gpu import describe

    return f"{litert_reason}; {describe('gpu')}. Use --target cpu, or run on a machine with a GPU and its drivers"


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        doc = keras_baseline(request["model"], device=request.get("device", "gpu"), backend=request.get("backend"),
                             runs=request["runs"], warmup=request["warmup"], min_seconds=request["min_seconds"])
    except EdgekitError as err:
        doc = {"error": str(err), "error_type": type(err).__name__}
    sys.stdout.write(json.dumps(doc) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
