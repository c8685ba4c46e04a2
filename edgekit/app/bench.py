"""``edgekit bench`` as a library: one validated request in, result documents out.

The CLI parses options into a :class:`BenchRequest`, calls :func:`run_bench` and renders the
:class:`BenchOutcome`. Local targets are measured here, each config in a fresh process; device targets are
estimated, or measured over ssh (``edgekit.app.remote``) when hosts are given.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace

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
    from targets.registry import Reach, get_target

    chosen = get_target(request.target)
    loop = request.loop
    if chosen.mcu is not None:  # a microcontroller: TFLite Micro runs it here, its latency is estimated
        return bench_mcu_targets(request, chosen)
    if request.remote.given:
        from edgekit.app.remote import bench_on_devices

        if request.estimate or loop.profile_ops:
            raise UsageError("--estimate and --profile-ops do not apply with --host; drop them")
        return bench_on_devices(request, chosen, on_result=on_remote_result)
    request.remote.refuse_without_hosts()
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
                          profile=loop.profile_ops, protocol=loop.protocol(), progress=progress)
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


def measure(configs, store, run_id: str, *, profile: bool, protocol, progress: Progress | None = None,
            clock: Callable[[], float] = time.monotonic) -> list[dict]:
    """Every config in interleaved rounds (``bench.protocol``), each round in a fresh process; then each
    result is built from its rounds and stored."""
    from bench.protocol import median, run_rounds
    from bench.result import build_result
    from bench.runner import run_child
    from edgekit.analysis.tflite_cost import analyze_graph
    from edgekit.analysis.tflite_graph import read_tflite

    graphs = [read_tflite(cfg.path) for cfg in configs]
    costs = [analyze_graph(g, cfg.model) for g, cfg in zip(graphs, configs, strict=True)]
    docs: list[list[dict]] = [[] for _ in configs]
    planned = protocol.min_rounds * len(configs)

    def one(i: int) -> float:
        cfg = configs[i]
        done = sum(map(len, docs))
        if progress is not None:
            progress(f"{cfg.model} {cfg.quant} {cfg.target} threads={cfg.threads} round {len(docs[i]) + 1}",
                     min(done, planned), max(planned, done + 1))
        docs[i].append(run_child(cfg if not docs[i] else replace(cfg, profile_ops=False)))
        return median(docs[i][-1]["samples_ms"])

    rounds = run_rounds(range(len(configs)), one, protocol, clock)
    results = []
    for i, cfg in enumerate(configs):
        doc = build_result(cfg, docs[i], graphs[i], costs[i].macs, round_ids=rounds.round_ids[i],
                           rel_halfwidth=protocol.rel_halfwidth)
        first = docs[i][0]
        if profile and "ops" in first:
            doc["ops"] = _op_rows(first, costs[i])
            doc["delegate_nodes"] = first.get("delegate_nodes", 0)
            doc["ops_method"] = first.get("ops_method")
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
    """Add the Keras-on-GPU figure (JAX, PyTorch or TensorFlow, whichever sees the GPU) to zoo-model results."""
    from edgekit.app.gpu_baseline import add_baselines

    add_baselines(results, runs=loop.runs, warmup=loop.warmup, min_seconds=loop.min_seconds)


def noisy_warnings(results: list[dict]) -> list[str]:
    """The warnings a run ends with: the noisy results, and the CPU governor (once each)."""
    noisy = [f"{r['model']} {r['quant']} threads={r['threads']} (95% interval {r['latency_ms']['ci95'][0]:.3g}–"
             f"{r['latency_ms']['ci95'][1]:.3g} ms over {r['rounds']} rounds)" for r in results if r.get("noisy")]
    lines = [f"noisy: the 95% interval stayed wider than ±5% of p50; close other work, or raise --rounds or "
             f"--budget: {', '.join(noisy)}"] if noisy else []
    return lines + list(dict.fromkeys(w for r in results for w in r["warnings"] if w.startswith("CPU governor")))


def bench_mcu_targets(request: BenchRequest, chosen) -> BenchOutcome:
    """``--target cortex-m4|cortex-m7``: each model in TFLite Micro here (``targets.mcu_bench``)."""
    from edgekit.app.sources import parse_list, resolve
    from targets.mcu_bench import bench_mcu

    if request.remote.given or request.estimate:
        raise UsageError(f"--host and --estimate do not apply to {chosen.key}: a microcontroller is run in TFLite "
                         "Micro on this machine and its latency is always estimated; drop them")
    sources = resolve(list(request.models), parse_list(request.quant, "--quant", str.lower))
    return BenchOutcome(kind="mcu", results=[bench_mcu(s.path, chosen, model=s.model) for s in sources])
