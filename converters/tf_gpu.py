"""The Keras-on-TensorFlow-CUDA baseline for ``edgekit bench --target gpu``: what a user would deploy
without edgekit. TensorFlow is imported only inside these functions."""

from __future__ import annotations

import time


def tf_gpu_devices() -> tuple[list[str], str | None]:
    """TensorFlow's GPU device names, and why there are none (None when TF imported fine)."""
    try:
        from converters._tf import tensorflow

        tf = tensorflow()
    except ImportError:
        return [], "TensorFlow is not installed (pip install 'edgekit[gpu]')"
    devices = [d.name for d in tf.config.list_physical_devices("GPU")]
    return devices, None if devices else f"TensorFlow {tf.__version__} sees no GPU devices"


def keras_gpu_baseline(model: str, *, runs: int, warmup: int, min_seconds: float) -> dict:
    """p50 of a zoo model's ``model(x, training=False)`` on TF's first GPU, random weights, batch 1."""
    import numpy as np

    from bench.loop import time_calls
    from bench.stats import summarize
    from converters._tf import tensorflow
    from edgekit.models import build

    tf = tensorflow()
    with tf.device("/GPU:0"):
        net = build(model)
        x = tf.constant(np.random.default_rng(0).standard_normal((1, *net.input_shape[1:])).astype(np.float32))
        fn = tf.function(lambda t: net(t, training=False))

        def run() -> None:
            fn(x).numpy()  # .numpy() waits for the GPU

        t0 = time.perf_counter()
        run()
        first_ms = (time.perf_counter() - t0) * 1e3
        stats = summarize(time_calls(run, warmup=warmup, min_runs=runs, min_seconds=min_seconds))
    return {"framework": f"tensorflow {tf.__version__} (Keras, CUDA)", "first_ms": round(first_ms, 3),
            "latency_ms": {k: round(v, 4) for k, v in stats.to_dict().items() if k not in ("runs", "cv")}}
