"""One benchmark configuration, run in a fresh process so its memory figures are its own.

``python -m bench.child`` reads a JSON config and answers with one JSON object (``edgekit.child_process``: run
by hand, on stdout). It imports edgekit.runtime (numpy and the TFLite runtime) and never TensorFlow;
``tf_imported`` in the output proves it.
"""

from __future__ import annotations

import sys
import time

from bench.energy import with_energy
from bench.loop import peak_rss_mb, pin, rss_mb, time_interpreter
from bench.machine import state


def _cpu(cfg: dict) -> dict:
    from edgekit.runtime import load

    t0 = time.perf_counter()
    model = load(cfg["path"], threads=cfg["threads"], xnnpack=cfg["xnnpack"], backend=cfg.get("backend", "auto"))
    init_ms = (time.perf_counter() - t0) * 1e3
    for detail in model.input_details():
        _check_feedable(detail, cfg["path"])
    out = {"init_ms": init_ms, **with_energy(cfg["target"], lambda: time_interpreter(
               model.interpreter, warmup=cfg["warmup"], min_runs=cfg["runs"], min_seconds=cfg["min_seconds"],
               warmup_seconds=cfg.get("warmup_seconds", 2.0))),
           "backend": model.backend.name.value, "backend_version": model.backend.version}
    if cfg.get("profile_ops"):
        from bench.profile import METHOD, delegate_nodes, profile_ops

        out["delegate_nodes"] = delegate_nodes(model.interpreter)
        out["ops"] = profile_ops(cfg["path"], model.backend.Interpreter, threads=cfg["threads"],
                                 resolver=model.backend.resolver(cfg["xnnpack"]))
        out["ops_method"] = METHOD
    return out


def _check_feedable(detail: dict, path: str) -> None:
    from bench.loop import synthetic_input
    from edgekit.errors import UsageError

    try:
        synthetic_input(detail)
    except ValueError as err:
        raise UsageError(f"{path!r}: {err}; edgekit bench feeds random input and cannot feed this one") from None


def run(cfg: dict) -> dict:
    """One round of one configuration, pinned to as many cores as it has threads, with the machine's state
    (load, frequency, governor) before and after."""
    cores = pin(cfg["threads"]) if cfg["target"] != "gpu" else None
    before = state()
    baseline = rss_mb()
    if cfg["target"] == "gpu":
        from bench.gpu import run_gpu

        out = run_gpu(cfg)
    else:
        out = _cpu(cfg)
    return {**out, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(),
            "tf_imported": "tensorflow" in sys.modules, "pinned_cores": cores, "machine_before": before,
            "machine_after": state()}


if __name__ == "__main__":
    from edgekit.child_process import serve

    sys.exit(serve(lambda cfg, _progress: run(cfg)))
