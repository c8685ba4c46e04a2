"""``edgekit bench`` as a library: one validated request in, :class:`edgekit.result.Result` records out.

The CLI parses options into a :class:`BenchRequest`, calls :func:`run_bench` and renders the
:class:`BenchOutcome`. The request is parsed once into a :class:`BenchPlan` that every branch takes. Local
targets are measured here, each config in a fresh process; device targets are estimated, or measured over ssh
(``edgekit.app.remote``) when hosts are given.

A model that cannot be read, converted, loaded, run or analysed fails alone: it gets a failed result (its
error instead of numbers) in its place, the others are measured, and :func:`failures_error` is the one line
the run ends with. Over 250 lines as one job: choosing how a request is served and measuring it here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace

from bench.protocol import REL_HALFWIDTH
from edgekit.app.bench_request import BenchOutcome, BenchPlan, BenchRequest, LoopArgs, Progress, RemoteArgs
from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result

__all__ = ["BenchOutcome", "BenchRequest", "LoopArgs", "RemoteArgs", "failures_error", "run_bench"]


def run_bench(request: BenchRequest, *, progress: Progress | None = None,
              on_remote_result: Callable[[str, Result], None] | None = None,
              on_stored: Callable[[Result], None] | None = None, say: Callable[[str], None] = lambda _: None
              ) -> BenchOutcome:
    """Measure, estimate, or measure over ssh or on a lab's devices, as ``request`` says: it is parsed once into a
    :class:`BenchPlan` (``edgekit.app.bench_request.make_plan``), which the branch serving its target takes.
    ``on_stored(result)``: called as each local (or lab) measurement is kept (in the database or its recovery
    file), so that an interrupted run can say what it kept."""
    from edgekit.app.bench_request import make_plan
    from targets.registry import Method

    plan = make_plan(request)
    if plan.on_lab:  # Ray is imported there, and only there
        from edgekit.app.bench_lab import bench_on_lab

        return bench_on_lab(plan, on_result=on_remote_result, on_stored=on_stored, say=say,
                            show=lambda i, n, line: progress(line, i, n) if progress is not None else None)
    if plan.method is Method.ADB:
        from edgekit.app.android import bench_on_phones

        return bench_on_phones(plan, on_result=on_remote_result, on_stored=on_stored)
    if plan.method is Method.MCU:  # a microcontroller: TFLite Micro runs it here, its latency is estimated
        return bench_mcu_targets(plan)
    if plan.method is Method.REMOTE:
        from edgekit.app.remote import bench_on_devices

        return bench_on_devices(plan, on_result=on_remote_result)
    if plan.method is Method.ESTIMATE:  # without --host a device target is estimated
        return estimate(plan)
    return measure_here(plan, progress=progress, on_stored=on_stored)


def measure_here(plan: BenchPlan, *, progress: Progress | None = None,
                 on_stored: Callable[[Result], None] | None = None) -> BenchOutcome:
    """``--target cpu|gpu``: every config measured on this machine, each round in a fresh process."""
    from bench.gpu import NoGpuError
    from bench.recovery import Recovery
    from bench.store import ResultStore
    from targets.registry import Method

    request = plan.request
    store = ResultStore(request.db)  # fail on an unwritable or foreign --db before measuring anything
    recovery = Recovery(store.path)  # from here on a database that fails loses no result
    run_id = uuid.uuid4().hex[:12]
    try:
        results = measure_and_store(plan.configs(), store, run_id, analyses=analyse(plan.items),
                                    profile=request.loop.profile_ops, protocol=plan.protocol, progress=progress,
                                    recovery=recovery, on_stored=on_stored)
    except NoGpuError as err:
        from edgekit.app.gpu_baseline import no_gpu_message

        raise NoGpuError(no_gpu_message(str(err))) from None
    finally:
        store.close()
    if plan.method is Method.GPU:
        results = add_gpu_baseline(results, request.loop)
    return BenchOutcome(how="measured", results=results, store_path=store.path, run_id=run_id, recovery=recovery)


def estimate(plan: BenchPlan) -> BenchOutcome:
    """The cost model's estimate of every model x quant x threads for a target, nothing measured."""
    results = [_estimate_one(s, plan.target, t) for s in plan.items for t in plan.threads]
    return BenchOutcome(how="estimated", results=results)


def _estimate_one(source, target, threads: int | None) -> Result:
    from bench.result import failure_result
    from bench.runner import Config
    from targets.estimate import estimate_bench

    try:
        if source.error is not None:
            raise source.error
        return estimate_bench(source.path, target, threads, model=source.model, quant=source.quant,
                              graph=source.graph)
    except UsageError:
        raise  # an unknown target or one with no estimator: every model would fail alike
    except Exception as err:  # this model cannot be analysed; it fails alone
        result = failure_result(Config(str(source.path), source.model, source.quant, target.key, threads), err)
        return replace(result, xnnpack=None)  # an estimate has no runtime


def measure_and_store(configs, store, run_id: str, *, analyses: Mapping[str, tuple | Exception], profile: bool,
                      protocol, progress: Progress | None = None, clock: Callable[[], float] = time.monotonic,
                      recovery=None, on_stored: Callable[[Result], None] | None = None) -> list[Result]:
    """Every config in interleaved rounds (``bench.service.measure``), each round in a fresh process; each
    result is built from its rounds and stored as soon as it is final: in ``store``, or, once that fails, in
    ``recovery``'s file (``bench.recovery.Recovery``; one beside the database when None is given).

    ``analyses``: each config's path's graph and cost, or why it cannot be measured (:func:`analyse`). A config
    that cannot be (read, converted or analysed, there) or fails to run is measured no more and gets a failure
    result in its place, stored too; the others go on. No GPU stops the run: it would fail them all.
    """
    from bench.gpu import NoGpuError
    from bench.provenance import device
    from bench.recovery import Recovery
    from bench.result import cut_short, failure_result
    from bench.service import Plan, Policy, measure
    from targets.local_result import finish_local

    prepared, failed = {}, {}
    for i, cfg in enumerate(configs):
        analysis = analyses[cfg.path]
        (failed if isinstance(analysis, Exception) else prepared)[i] = analysis

    def finish(i: int, docs: list[dict], round_ids: list[int]) -> Result:
        graph, cost = prepared[i]
        result = finish_local(configs[i], docs, graph, cost.macs, round_ids=round_ids,
                              rel_halfwidth=protocol.rel_halfwidth)
        first = docs[0]
        if profile and "ops" in first:
            result = result.with_keys(ops=_op_rows(first, cost), delegate_nodes=first.get("delegate_nodes", 0),
                                      ops_method=first.get("ops_method"))
        return result

    keeper = recovery or Recovery(store.path)

    def store_one(_i: int, result: Result) -> Result:
        kept = keeper.stored(store, run_id, result)
        if on_stored is not None:
            on_stored(kept)
        return kept

    plan = Plan(finish=finish, fail=lambda i, err: failure_result(configs[i], err, device=device()),
                cut=lambda i, docs: cut_short(finish(i, docs, list(range(len(docs)))), protocol.min_rounds))
    return measure(configs, plan, protocol=protocol, policy=Policy(fatal=(NoGpuError,)), progress=progress,
                   store=store_one, failed=failed, clock=clock)


def analyse(items) -> dict[str, tuple | Exception]:
    """By path, each ``edgekit.app.sources.BenchItem``'s graph (read once, when it was resolved) and its cost,
    analysed once however many thread counts measure it; or, for an item that cannot be measured, why."""
    from edgekit.analysis.tflite_cost import analyze_graph

    out: dict[str, tuple | Exception] = {}
    for item in items:
        if item.error is not None:
            out[str(item.path)] = item.error
            continue
        try:
            out[str(item.path)] = (item.graph, analyze_graph(item.graph, item.model))
        except Exception as err:  # this model cannot be analysed; it fails alone
            out[str(item.path)] = err
    return out


def failures_error(results: list[Result]) -> EdgekitError | None:
    """The one-line error a run with failed results ends with (after the rest is shown), or None.

    It counts models (model x quant) and names each failed one with its first error. It is a UsageError (exit 2)
    when every failure was one (a model file that cannot be fed, as when it is benchmarked alone), else exit 1.
    """
    failed: dict[tuple, Result] = {}
    for r in results:
        if r.failed:
            failed.setdefault((r.model, r.quant), r)
    if not failed:
        return None
    total = len({(r.model, r.quant) for r in results})
    kept = sum(not r.failed for r in results)
    named = "; ".join(f"{r.model}: {r.failure.error.rstrip('.')}" for r in failed.values())
    message = f"{len(failed)} of {total} model{'s' if total > 1 else ''} failed ({kept} result(s) kept): {named}"
    usage = all(r.failure.error_type == "UsageError" for r in failed.values())
    return (UsageError if usage else EdgekitError)(message)


def _op_rows(measured: dict, cost) -> list[dict]:
    rows = []
    for row, layer in zip(measured["ops"], cost.layers, strict=False):
        rows.append({"index": row["index"], "op": layer.type, "name": layer.name, "ms": row["ms"],
                     "macs": layer.macs, **{k: v for k, v in row.items() if k == "error"}})
    return rows


def add_gpu_baseline(results: list[Result], loop: LoopArgs) -> list[Result]:
    """The results with the Keras-on-GPU figure (JAX, PyTorch or TensorFlow, whichever sees the GPU) under
    ``baseline`` in each measured one (``edgekit.app.gpu_baseline.baselines``)."""
    from edgekit.app.gpu_baseline import baselines

    measured = [i for i, r in enumerate(results) if not r.failed]
    found = baselines([results[i].model for i in measured], runs=loop.runs, warmup=loop.warmup,
                      min_seconds=loop.min_seconds)
    baseline_of = dict(zip(measured, found, strict=True))
    return [r.with_keys(baseline=baseline_of[i]) if i in baseline_of else r for i, r in enumerate(results)]


def config_words(r: Result) -> str:
    """"tiny_fp32 fp32 1 thread", "tiny_fp32 fp32 on the GPU": a configuration in words, never a None."""
    if r.threads is None:
        where = "on the GPU" if r.target == "gpu" else ""
    else:
        where = f"{r.threads} thread{'s' if r.threads != 1 else ''}"
    return " ".join(str(x) for x in (r.model, r.quant, where) if x)


def noisy_warnings(results: list[Result]) -> list[str]:
    """The warnings a run ends with: the noisy results, the CPU governor and a software GPU (once each)."""
    from bench.compare import PAIRED_MIN_ROUNDS, too_few_rounds

    few = [r for r in results if too_few_rounds(r)]
    noisy = [f"{config_words(r)} (95% interval {r.figures.latency_ms.ci95[0]:.3g}–"
             f"{r.figures.latency_ms.ci95[1]:.3g} ms over {r.rounds.rounds} rounds)" for r in results
             if r.noisy and r not in few]
    lines = [f"noisy: the 95% interval stayed wider than ±{REL_HALFWIDTH:.0%} of p50; close other work, or raise "
             f"--rounds or --budget: {', '.join(noisy)}"] if noisy else []
    if few:
        had = ", ".join(f"{config_words(r)} had {r.rounds.rounds or 1}" for r in few)
        lines.append(f"too few rounds for an interval: a 95% interval of p50 needs {PAIRED_MIN_ROUNDS} rounds or "
                     f"more, and {had}; its min–max range is shown instead; run with --rounds {PAIRED_MIN_ROUNDS}")
    once = ("CPU governor", "emulated: LiteRT's GPU", "more threads than cores")
    return lines + list(dict.fromkeys(w for r in results for w in r.warnings if w.startswith(once)))


def bench_mcu_targets(plan: BenchPlan) -> BenchOutcome:
    """``--target cortex-m4|cortex-m7``: each model in TFLite Micro here (``targets.mcu_bench``)."""
    from targets.mcu_bench import bench_mcu

    return BenchOutcome(how="mcu", results=[bench_mcu(s.path, plan.target, model=s.model) for s in plan.items])
