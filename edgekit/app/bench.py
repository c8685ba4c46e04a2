"""``edgekit bench`` as a library: one validated request in, result documents out.

The CLI parses options into a :class:`BenchRequest`, calls :func:`run_bench` and renders the
:class:`BenchOutcome`. Local targets are measured here, each config in a fresh process; device targets are
estimated, or measured over ssh (``edgekit.app.remote``) when hosts are given.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from edgekit.app.bench_request import (
    BenchOutcome,
    BenchRequest,
    LoopArgs,
    Progress,
    RemoteArgs,
    make_configs,
    parse_threads,
)
from edgekit.errors import UsageError

__all__ = ["BenchOutcome", "BenchRequest", "LoopArgs", "RemoteArgs", "make_configs", "parse_threads", "run_bench"]


def run_bench(request: BenchRequest, *, progress: Progress | None = None,
              on_remote_result: Callable[[str, dict], None] | None = None) -> BenchOutcome:
    """Measure, estimate, or measure over ssh, as ``request`` says."""
    from edgekit.app.sources import parse_list, resolve
    from targets.registry import Reach, TargetName, get_target

    chosen = get_target(request.target)
    loop = request.loop
    if request.remote.given:
        from edgekit.app.remote import bench_on_devices

        if request.estimate or loop.profile_ops:
            raise UsageError("--estimate and --profile-ops do not apply with --host; drop them")
        return bench_on_devices(request, chosen, on_result=on_remote_result)
    request.remote.refuse_without_hosts()
    if chosen.name == TargetName.AUTO:
        raise UsageError("--target auto identifies and measures a device given with --host; add --host, or use "
                         "--target cpu for this machine")
    if request.estimate or chosen.reach is not Reach.LOCAL:  # without --host a device target is estimated
        return estimate(request, chosen)
    from targets.local import local_target

    tgt = local_target(request.target).name.value
    loop.check()
    thread_list = parse_threads(request.threads, tgt)
    if tgt == "gpu" and (not loop.xnnpack or loop.profile_ops):
        raise UsageError("--no-xnnpack and --profile-ops apply to --target cpu only")
    from bench.store import ResultStore

    store = ResultStore(request.db)  # fail on an unwritable --db before measuring anything
    sources = resolve(list(request.models), parse_list(request.quant, "--quant", str.lower))
    run_id = uuid.uuid4().hex[:12]
    from bench.gpu import NoGpuError

    try:
        results = measure(make_configs(sources, thread_list, tgt, loop.config_args()), store, run_id,
                          profile=loop.profile_ops, progress=progress)
    except NoGpuError as err:
        from edgekit.app.gpu_baseline import no_gpu_message

        raise NoGpuError(no_gpu_message(str(err))) from None
    if tgt == "gpu":
        add_gpu_baseline(results, loop)
    return BenchOutcome(kind="measured", results=results, store_path=store.path, run_id=run_id)


def estimate(request: BenchRequest, target) -> BenchOutcome:
    """The cost model's estimate of every model x quant x threads for a target, nothing measured."""
    from edgekit.app.sources import parse_list, resolve
    from targets.estimate import estimate_bench

    thread_list = [None] if request.threads is None else parse_threads(request.threads, "cpu")
    sources = resolve(list(request.models), parse_list(request.quant, "--quant", str.lower))
    results = [estimate_bench(s.path, target, t, model=s.model, quant=s.quant) for s in sources for t in thread_list]
    return BenchOutcome(kind="estimated", results=results)


def measure(configs, store, run_id: str, *, profile: bool, progress: Progress | None = None) -> list[dict]:
    """Each config in a fresh process; each result stored as soon as it is measured."""
    from bench.result import build_result
    from bench.runner import run_child
    from edgekit.analysis.tflite_cost import analyze_graph
    from edgekit.analysis.tflite_graph import read_tflite

    results = []
    for i, cfg in enumerate(configs):
        if progress is not None:
            progress(f"{cfg.model} {cfg.quant} {cfg.target} threads={cfg.threads}", i, len(configs))
        graph = read_tflite(cfg.path)
        cost = analyze_graph(graph, cfg.model)
        measured = run_child(cfg)
        doc = build_result(cfg, measured, graph, cost.macs)
        if profile and "ops" in measured:
            doc["ops"] = _op_rows(measured, cost)
            doc["delegate_nodes"] = measured.get("delegate_nodes", 0)
            doc["ops_method"] = measured.get("ops_method")
        doc["id"] = store.add(run_id, doc)
        doc["run_id"] = run_id
        results.append(doc)
    return results


def _op_rows(measured: dict, cost) -> list[dict]:
    rows = []
    for row, layer in zip(measured["ops"], cost.layers, strict=False):
        rows.append({"index": row["index"], "op": layer.type, "name": layer.name, "ms": row["ms"],
                     "macs": layer.macs, **({"error": row["error"]} if "error" in row else {})})
    return rows


def add_gpu_baseline(results: list[dict], loop: LoopArgs) -> None:
    """Add the Keras-on-GPU figure to zoo-model results when a Keras GPU backend sees a GPU."""
    from converters.tf_gpu import tf_gpu_devices
    from edgekit.app.gpu_baseline import keras_gpu_baseline
    from edgekit.models.registry import MODEL_NAMES

    devices, why = tf_gpu_devices()
    for doc in results:
        if doc["model"] not in MODEL_NAMES:
            doc["baseline"] = {"skipped": "a .tflite file has no Keras model to compare with"}
        elif not devices:
            doc["baseline"] = {"skipped": why}
        else:
            doc["baseline"] = keras_gpu_baseline(doc["model"], runs=loop.runs, warmup=loop.warmup,
                                                 min_seconds=loop.min_seconds)


def noisy_warnings(results: list[dict]) -> list[str]:
    """The warnings a run ends with: high variation, and the CPU governor (once each)."""
    from bench.stats import HIGH_CV

    noisy = [f"{r['model']} {r['quant']} threads={r['threads']} (CV {r['cv']:.0%})" for r in results
             if r["cv"] > HIGH_CV]
    lines = [f"high variation (CV > {HIGH_CV:.0%}), the machine was busy; close other work or raise "
             f"--min-seconds: {', '.join(noisy)}"] if noisy else []
    return lines + list(dict.fromkeys(w for r in results for w in r["warnings"] if w.startswith("CPU governor")))
