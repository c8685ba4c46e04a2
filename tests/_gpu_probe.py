"""Run in a child process by tests/test_bench_gpu.py, never inside pytest: LiteRT's GPU accelerator can crash
the process that starts it after other LiteRT or TensorFlow work (seen: a segfault in CompiledModel.from_file
late in the suite), and a crash here must fail one test, not end the run.

``python -m tests._gpu_probe adapter``: JSON {"ok", "adapter", "error"}.
``python -m tests._gpu_probe sync PATH N``: JSON timings of N dispatches in one block vs the loop's single calls.
"""

from __future__ import annotations

import json
import sys
import time


def _adapter() -> dict:
    from bench.gpu import NoGpuError, compile_for_gpu
    from tests.conftest import DATA

    try:
        _, adapter = compile_for_gpu(str(DATA / "tiny_fp32.tflite"))
    except NoGpuError as err:
        return {"ok": False, "adapter": None, "error": str(err)}
    return {"ok": True, "adapter": adapter.to_dict() if adapter else None, "error": None}


def _sync(path: str, n: int) -> dict:
    from bench.gpu import open_gpu
    from bench.loop import time_calls
    from bench.protocol import median

    gpu = open_gpu(path)
    for _ in range(2):  # shader compilation and first uploads
        gpu.call()
    t0 = time.perf_counter()
    for _ in range(n):
        gpu.dispatch()
    gpu.readback()
    block_ms = (time.perf_counter() - t0) * 1e3 / n
    single_ms = median(time_calls(gpu.call, warmup=0, min_runs=n, min_seconds=0))
    queued_ms = median(time_calls(gpu.dispatch, warmup=0, min_runs=n, min_seconds=0))
    gpu.readback()
    return {"block_ms": block_ms, "single_ms": single_ms, "queued_ms": queued_ms}


if __name__ == "__main__":
    what = sys.argv[1]
    doc = _adapter() if what == "adapter" else _sync(sys.argv[2], int(sys.argv[3]))
    print("GPU-PROBE " + json.dumps(doc))
