"""The device runner: one benchmark on the device, written as one JSON file. Copied beside ``loop.py`` and
``device_facts.py`` (``targets.remote``); it needs numpy and ai-edge-litert or tflite-runtime, nothing else.

    python3 device_run.py model.tflite --out result.json --threads 4 [--delegate edgetpu] [--deadline 600]
        [--check-outputs]

The JSON holds what ``bench.child`` reports on the host (``init_ms``, ``first_ms``, ``samples_ms``, RSS,
backend and version) plus ``device``: the board, read before and after the run (temperature, throttling).
A failure is ``{"error": ..., "error_type": ...}`` in the same file, and exit status 3.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import device_facts
import energy_pi5

try:
    import loop  # needs numpy
except ImportError as _err:
    loop, _NUMPY_ERROR = None, (str(_err).splitlines() or ["numpy is missing"])[0]

# error_type values the host turns into messages with the fix (targets.hints)
NO_NUMPY, NO_RUNTIME, DELEGATE, INPUT, MODEL, DEADLINE = ("no_numpy", "no_runtime", "delegate", "input", "model",
                                                          "deadline")


class RunError(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def _runtime():
    """(interpreter module, backend name, version): ai_edge_litert first, then tflite_runtime."""
    reasons = []
    for module, dist in (("ai_edge_litert", "ai-edge-litert"), ("tflite_runtime", "tflite-runtime")):
        try:
            rt = __import__(module + ".interpreter", fromlist=["Interpreter"])
        except Exception as err:  # tflite_runtime built for numpy<2 raises more than ImportError
            reasons.append(f"{dist}: {(str(err).splitlines() or [type(err).__name__])[0]}")
            continue
        return rt, module, device_facts.dist_version(dist, module) or "unknown"
    raise RunError(NO_RUNTIME, "; ".join(reasons))


def _open(path: str, threads: int | None, xnnpack: bool, delegate: str | None):
    rt, backend, version = _runtime()
    kwargs = {"model_path": path, "num_threads": threads}
    kinds = getattr(rt, "OpResolverType", None)
    if kinds is not None:
        kwargs["experimental_op_resolver_type"] = kinds.AUTO if xnnpack else kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    if delegate == "edgetpu":
        try:
            kwargs["experimental_delegates"] = [rt.load_delegate(device_facts.EDGETPU_LIBRARY)]
        except (ValueError, OSError) as err:
            raise RunError(DELEGATE, (str(err).splitlines() or ["cannot load"])[0]) from None
    try:
        interpreter = rt.Interpreter(**kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise RunError(MODEL, (str(err).splitlines() or [type(err).__name__])[0]) from None
    return interpreter, backend, version


def run(args: argparse.Namespace) -> dict:
    """One round: pinned to as many cores as it has threads; the device's state read before and after."""
    cores = loop.pin(args.threads)
    before = {**device_facts.facts(), **device_facts.machine.state()}
    baseline = loop.rss_mb()
    t0 = time.perf_counter()
    interpreter, backend, version = _open(args.model, args.threads, not args.no_xnnpack, args.delegate)
    init_ms = (time.perf_counter() - t0) * 1e3
    for detail in interpreter.get_input_details():
        try:
            loop.synthetic_input(detail)
        except ValueError as err:
            raise RunError(INPUT, f"{err}; edgekit bench feeds random input and cannot feed this one") from None
    out = energy_pi5.with_pmic(lambda: loop.time_interpreter(interpreter, warmup=args.warmup, min_runs=args.runs,
                                                             min_seconds=args.min_seconds))
    if args.check_outputs:
        import outputs

        out["outputs"] = outputs.run_fixed(interpreter)
    return {"init_ms": init_ms, **out, "baseline_rss_mb": baseline, "peak_rss_mb": loop.peak_rss_mb(),
            "backend": backend, "backend_version": version, "tf_imported": "tensorflow" in sys.modules,
            "delegate": args.delegate, "device": before, "pinned_cores": cores,
            "after": {"cpu_temp_c": device_facts.cpu_temp_c(), "throttled": device_facts.throttled(),
                      **device_facts.machine.state()}}


def _deadline(seconds: float) -> None:
    def expire(signum, frame):
        raise RunError(DEADLINE, f"the run took over {seconds:g} s")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark a .tflite model on this device; writes one JSON file.")
    p.add_argument("model")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--min-seconds", type=float, default=1.0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--no-xnnpack", action="store_true")
    p.add_argument("--delegate", choices=["edgetpu"], default=None)
    p.add_argument("--deadline", type=float, default=None)
    p.add_argument("--check-outputs", action="store_true", help="also return the outputs on the fixed input")
    args = p.parse_args(argv)
    if args.deadline:
        _deadline(args.deadline)
    try:
        if loop is None:
            raise RunError(NO_NUMPY, _NUMPY_ERROR)
        doc, status = run(args), 0
    except RunError as err:
        doc, status = {"error": str(err), "error_type": err.error_type}, 3
    tmp = args.out + ".part"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, args.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
