"""The measurement loop: self-contained, so it runs on a device with numpy and one TFLite runtime alone.

This module imports only the standard library, numpy and (when run as a script) the TFLite runtime. It can
be copied to a Raspberry Pi and run there without edgekit installed::

    scp bench/loop.py pi:/tmp/ && ssh pi python3 /tmp/loop.py model.tflite --threads 4 --runs 50

which prints one JSON object: init_ms, first_ms, samples_ms, rss/peak figures, backend and version.
The host-side harness (``bench.child``) calls the same functions through ``edgekit.runtime``.

Timing follows TFLite's ``benchmark_model``: ``perf_counter`` around each ``invoke()`` only, warmup runs
first, then at least ``min_runs`` runs and at least ``min_seconds`` of them. Warmup goes on until the latency
settles (``settle``); calls under 100 us are timed in batches (``batch_size``). This is one round of the
protocol in docs/measuring.md; the host runs rounds in fresh processes (``bench.protocol``).
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time

import numpy as np

DEFAULT_RUNS = 50
DEFAULT_MIN_SECONDS = 1.0
DEFAULT_WARMUP = 1
SETTLE_WINDOW = 3  # warmup settles when the median of the last 3 calls is within 5% of the 3 before
SETTLE_TOL = 0.05
SETTLE_MAX_RUNS = 50
SETTLE_MAX_SECONDS = 2.0
SHORT_CALL_MS = 0.1  # calls under 100 us are timed in batches
MAX_SECONDS = 150.0  # as benchmark_model's max_secs: stop after this even before min_runs


def time_calls(fn, *, warmup: int = DEFAULT_WARMUP, min_runs: int = DEFAULT_RUNS,
               min_seconds: float = DEFAULT_MIN_SECONDS, max_seconds: float = MAX_SECONDS, batch: int = 1,
               clock=time.perf_counter) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then time it; return the durations per call in milliseconds.

    Each sample times ``batch`` calls in a row and divides by ``batch`` (for calls too short to time alone).
    Runs until there are ``min_runs`` samples spanning ``min_seconds``, or ``max_seconds`` have passed.
    """
    for _ in range(warmup):
        fn()
    calls = range(batch)
    samples: list[float] = []
    start = clock()
    while True:
        t0 = clock()
        for _ in calls:
            fn()
        t1 = clock()
        samples.append((t1 - t0) * 1e3 / batch)
        elapsed = t1 - start
        if (len(samples) >= min_runs and elapsed >= min_seconds) or elapsed >= max_seconds:
            return samples


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2


def settle(fn, *, min_runs: int = DEFAULT_WARMUP, window: int = SETTLE_WINDOW, tol: float = SETTLE_TOL,
           max_runs: int = SETTLE_MAX_RUNS, max_seconds: float = SETTLE_MAX_SECONDS,
           clock=time.perf_counter) -> dict:
    """Warm up until the latency settles: the median of the last ``window`` calls within ``tol`` of the median
    of the ``window`` before (after at least ``min_runs`` calls), or ``max_runs`` calls or ``max_seconds``.

    Returns ``{"warmup_runs", "settled", "call_ms"}`` (``call_ms``: the median of the last window).
    """
    times: list[float] = []
    start = clock()
    while True:
        t0 = clock()
        fn()
        t1 = clock()
        times.append((t1 - t0) * 1e3)
        n = len(times)
        if n >= max(min_runs, 2 * window):
            last, before = _median(times[-window:]), _median(times[-2 * window:-window])
            if abs(last - before) <= tol * before:
                return {"warmup_runs": n, "settled": True, "call_ms": last}
        if n >= max(min_runs, max_runs) or (t1 - start >= max_seconds and n >= min_runs):
            return {"warmup_runs": n, "settled": False, "call_ms": _median(times[-window:])}


def timer_overhead_ms(clock=time.perf_counter, n: int = 1000) -> float:
    """What one timed sample costs beyond the call itself: two clock reads and the loop, in ms."""
    noop = _noop
    t0 = clock()
    for _ in range(n):
        a = clock()
        noop()
        _ = clock() - a
    return (clock() - t0) * 1e3 / n


def _noop() -> None:
    return None


def batch_size(call_ms: float, overhead_ms: float) -> int:
    """1 for calls of ``SHORT_CALL_MS`` or more; else enough calls per sample for overhead under 1% and a
    sample of at least 1 ms."""
    if call_ms >= SHORT_CALL_MS or call_ms <= 0:
        return 1
    return max(1, math.ceil(max(100 * overhead_ms, 1.0) / call_ms))


def pin(threads: int | None) -> list[int] | None:
    """Pin this process to ``threads`` of the cores it may use (the first ones); the cores, or None when the
    OS cannot pin (macOS) or ``threads`` is not given."""
    if not threads or not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))[:threads]
    try:
        os.sched_setaffinity(0, cores)
    except OSError:
        return None
    return cores


def synthetic_input(detail: dict, seed: int = 0) -> np.ndarray:
    """Random data in a tensor's dtype and shape; ValueError if it cannot be made (strings, dynamic dims)."""
    shape = [int(d) for d in detail["shape"]]
    signature = [int(d) for d in detail.get("shape_signature", shape)]
    if any(d < 0 for d in signature[1:]):  # a dynamic batch runs as 1, TFLite's default
        raise ValueError(f"input {detail['name']!r} has a dynamic shape {signature}")
    dtype = np.dtype(detail["dtype"])
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    raise ValueError(f"input {detail['name']!r} has dtype {dtype.name}, which cannot be filled with random data")


def feed(interpreter, seed: int = 0) -> None:
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], synthetic_input(detail, seed))


def _proc_status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """Current resident set size in MB (Linux /proc), or None elsewhere."""
    return _proc_status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    Linux: VmHWM, which starts afresh at exec. ``ru_maxrss`` does not (it carries the parent's peak across
    fork and exec), so it is only the fallback elsewhere (KiB on Linux, bytes on macOS).
    """
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def time_interpreter(interpreter, *, warmup: int = DEFAULT_WARMUP, min_runs: int = DEFAULT_RUNS,
                     min_seconds: float = DEFAULT_MIN_SECONDS, warmup_seconds: float = SETTLE_MAX_SECONDS) -> dict:
    """Feed random input, time the first invoke, then the loop. The interpreter must be allocated."""
    feed(interpreter)
    return measure_calls(interpreter.invoke, warmup=warmup, min_runs=min_runs, min_seconds=min_seconds,
                         warmup_seconds=warmup_seconds)


def measure_calls(fn, *, warmup: int = DEFAULT_WARMUP, min_runs: int = DEFAULT_RUNS,
                  min_seconds: float = DEFAULT_MIN_SECONDS, warmup_seconds: float = SETTLE_MAX_SECONDS) -> dict:
    """One round: the first call alone, warmup until settled (at least ``warmup`` calls), then the timed loop,
    in batches when calls are short. ``{"first_ms", "samples_ms", "warmup_runs", "settled", "batch"}``."""
    t0 = time.perf_counter()
    fn()
    first_ms = (time.perf_counter() - t0) * 1e3
    warm = settle(fn, min_runs=warmup, max_seconds=warmup_seconds)
    batch = batch_size(warm["call_ms"], timer_overhead_ms())
    samples = time_calls(fn, warmup=0, min_runs=min_runs, min_seconds=min_seconds, batch=batch)
    return {"first_ms": first_ms, "samples_ms": samples, "warmup_runs": warm["warmup_runs"],
            "settled": warm["settled"], "batch": batch}


def _open(path: str, threads: int | None, xnnpack: bool):
    """Standalone loader for devices without edgekit: ai_edge_litert, else tflite_runtime."""
    try:
        from ai_edge_litert import interpreter as rt
        dist = "ai-edge-litert"
    except ImportError:
        from tflite_runtime import interpreter as rt
        dist = "tflite-runtime"
    from importlib import metadata

    kinds = rt.OpResolverType
    interpreter = rt.Interpreter(model_path=path, num_threads=threads, experimental_op_resolver_type=(
        kinds.AUTO if xnnpack else kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    interpreter.allocate_tensors()
    return interpreter, dist, metadata.version(dist)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Time a .tflite model's invoke(); prints one JSON object.")
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    p.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS)
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    p.add_argument("--warmup-seconds", type=float, default=SETTLE_MAX_SECONDS)
    p.add_argument("--no-xnnpack", action="store_true")
    args = p.parse_args(argv)
    cores = pin(args.threads)
    baseline = rss_mb()
    t0 = time.perf_counter()
    interpreter, dist, version = _open(args.model, args.threads, not args.no_xnnpack)
    init_ms = (time.perf_counter() - t0) * 1e3
    result = time_interpreter(interpreter, warmup=args.warmup, min_runs=args.runs, min_seconds=args.min_seconds,
                              warmup_seconds=args.warmup_seconds)
    print(json.dumps({"init_ms": init_ms, **result, "pinned_cores": cores, "baseline_rss_mb": baseline,
                      "peak_rss_mb": peak_rss_mb(),
                      "backend": dist, "backend_version": version, "threads": args.threads,
                      "xnnpack": not args.no_xnnpack, "pid": os.getpid()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
