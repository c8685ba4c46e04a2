"""The Keras GPU baseline beside LiteRT's GPU accelerator, timed with bench's loop. Application layer: it
joins converters (which runs Keras) and bench (which times)."""

from __future__ import annotations

import time

from bench.loop import time_calls
from bench.stats import summarize


def keras_gpu_baseline(model: str, *, runs: int, warmup: int, min_seconds: float) -> dict:
    """p50 of a zoo model's ``model(x, training=False)`` on the GPU, random weights, batch 1."""
    from converters.tf_gpu import keras_gpu_call

    run, framework = keras_gpu_call(model)
    t0 = time.perf_counter()
    run()
    first_ms = (time.perf_counter() - t0) * 1e3
    stats = summarize(time_calls(run, warmup=warmup, min_runs=runs, min_seconds=min_seconds))
    return {"framework": framework, "first_ms": round(first_ms, 3),
            "latency_ms": {k: round(v, 4) for k, v in stats.to_dict().items() if k not in ("runs", "cv")}}


def no_gpu_message(litert_reason: str) -> str:
    """One line naming everything looked for: LiteRT's GPU environment and TensorFlow's GPU devices."""
    from converters.tf_gpu import tf_gpu_devices

    devices, why = tf_gpu_devices()
    tf_part = f"TensorFlow GPU devices: {', '.join(devices)}" if devices else f"TensorFlow GPU devices: none ({why})"
    return f"{litert_reason}; {tf_part}. Use --target cpu, or run on a machine with a GPU and its drivers"
