"""Turn what a child measured into one result record, with its provenance and warnings."""

from __future__ import annotations

import os
from dataclasses import replace

from bench.energy import figure_from_rounds
from bench.protocol import REL_HALFWIDTH, LatencySummary, median, sig, summarize_rounds
from bench.provenance import provenance
from bench.runner import Config
from bench.stats import summarize
from edgekit.analysis.tflite_graph import TFLiteGraph
from edgekit.errors import EdgekitError, first_line
from edgekit.result import Failure, Figures, Kind, Latency, Result, Rounds


def build_result(cfg: Config, rounds: dict | list[dict], graph: TFLiteGraph, macs: int, *,
                 round_ids: list[int] | None = None, rel_halfwidth: float = REL_HALFWIDTH) -> Result:
    """The record ``--json``, the table and the results store share, from one or more rounds (child docs).

    p50 is the median of the round medians with its 95% interval (``bench.protocol``); min, mean, std, p90
    and p99 are over every timed call of every round; ``cv`` is the spread between rounds.
    """
    rounds = [rounds] if isinstance(rounds, dict) else list(rounds)
    medians = [median(r["samples_ms"]) for r in rounds]
    between = summarize_rounds(medians, rel_halfwidth)
    lat = summarize([x for r in rounds for x in r["samples_ms"]])
    p50_s = between.p50 / 1e3
    prov = {k: v for k, v in provenance().items() if k != "measured"}
    first = rounds[0]
    base = first.get("baseline_rss_mb")
    peak = median([r["peak_rss_mb"] for r in rounds])
    latency = Latency(min=sig(lat.min), mean=sig(lat.mean), std=sig(lat.std), p50=sig(between.p50),
                      p90=sig(lat.p90), p99=sig(lat.p99), max=sig(lat.max), iqr=sig(lat.iqr),
                      ci95=(sig(between.ci95[0]), sig(between.ci95[1])))
    figures = Figures(
        latency_ms=latency, init_ms=round(median([r["init_ms"] for r in rounds]), 3),
        first_ms=round(median([r["first_ms"] for r in rounds]), 3), peak_rss_mb=round(peak, 1),
        throughput_ips=round(1.0 / p50_s, 2) if p50_s > 0 else None, size_bytes=graph.file_bytes, macs=macs,
        gmacs_per_s=round(macs / p50_s / 1e9, 3) if p50_s > 0 and macs else None, backend=first["backend"])
    protocol = Rounds(
        cv=round(between.cv, 4), rounds=between.rounds, noisy=between.noisy, round_ms=tuple(sig(m, 6) for m in medians),
        round_ids=tuple(round_ids) if round_ids is not None else tuple(range(len(rounds))), runs=lat.runs,
        warmup=cfg.warmup, warmup_runs=tuple(r.get("warmup_runs", cfg.warmup) for r in rounds),
        warmup_settled=all(r.get("settled", True) for r in rounds), batch=max(r.get("batch", 1) for r in rounds),
        pinned_cores=first.get("pinned_cores"),
        machine={"before": first.get("machine_before"), "after": rounds[-1].get("machine_after")},
        rss_increase_mb=round(peak - base, 1) if base is not None else None,
        baseline_rss_mb=round(base, 1) if base is not None else None)
    extra = {"backend_version": first["backend_version"], **prov}
    extra.update((k, first[k]) for k in ("accelerator", "fully_accelerated", "sync", "gpu_adapter", "emulated",
                                         "baseline", "tf_imported") if k in first)
    warnings = warnings_for(between, prov["device"].get("governor"))
    warnings += [w for w in [threads_warning(cfg.threads, prov["device"].get("usable_cores"))] if w]
    if first.get("emulated") and first.get("gpu_adapter"):  # a software GPU: the CPU's speed, never a GPU's
        from bench.gpu import EMULATED_WARNING

        warnings.append(EMULATED_WARNING.format(adapter=first["gpu_adapter"]["name"]))
    return Result(kind=Kind.MEASURED, target=cfg.target, model=cfg.model, quant=cfg.quant, threads=cfg.threads,
                  xnnpack=cfg.xnnpack, path=os.path.abspath(cfg.path), figures=figures, rounds=protocol,
                  extra=extra, energy=figure_from_rounds(rounds),
                  warnings=warnings)


def cut_short(result: Result, planned: int) -> Result:
    """A result built from the rounds one config had finished when the run was interrupted: kept, and saying so."""
    done = result.rounds.rounds if result.rounds is not None else 0
    return replace(result, warnings=(*result.warnings, f"interrupted: {done} of at least {planned} round(s) had "
                                     "finished; this figure is from those alone, so measure again for a settled one"))


def failure_result(cfg: Config, err: BaseException, *, device: dict | None = None) -> Result:
    """The record of a configuration that could not be measured (or estimated): its error instead of numbers.

    It carries the same labels as a result (target, model, quant, threads, path, provenance), ``measured: false``
    and ``error``, so that it is printed, stored and exported beside the others. ``device``: where it was tried
    (this machine's facts for a measurement, none for an estimate).
    """
    prov = provenance()
    extra = {"device": device} if device is not None else {}
    extra.update(edgekit=prov["edgekit"], commit=prov["commit"], time_utc=prov["time_utc"])
    return Result(kind=Kind.FAILED, target=cfg.target, model=cfg.model, quant=cfg.quant, threads=cfg.threads,
                  xnnpack=cfg.xnnpack, path=os.path.abspath(cfg.path),
                  failure=Failure(error=error_text(err), error_type=type(err).__name__), extra=extra)


def error_text(err: BaseException) -> str:
    """One line: an edgekit error's own message; anything else is an edgekit bug, named as one."""
    if isinstance(err, EdgekitError):
        return first_line(err)
    return f"edgekit failed on this model ({type(err).__name__}: {first_line(err)}); please report it"


def warnings_for(between: LatencySummary | Result, governor: str | None) -> list[str]:
    """``between``: a ``bench.protocol.LatencySummary``, or a measured Result (its p50, interval and rounds)."""
    out = []
    if isinstance(between, Result):
        between = LatencySummary(between.p50_ms, tuple(between.figures.latency_ms.ci95), between.rounds.rounds,
                          between.rounds.cv, between.rounds.noisy)
    if between.noisy:
        lo, hi = between.ci95
        out.append(f"noisy: the 95% interval {lo:.3g}–{hi:.3g} ms over {between.rounds} round(s) is wider than "
                   f"±{REL_HALFWIDTH:.0%} of p50; close other work, or raise --rounds or --budget")
    if governor is not None and governor != "performance":
        out.append(f"CPU governor is {governor!r}, not 'performance'; latencies may vary with frequency "
                   "scaling (sudo cpupower frequency-set -g performance)")
    return out


THREADS_WARNING = "more threads than cores"  # how the warning starts: the CLI picks it out of a run's results


def threads_warning(threads: int | None, cores: int | None) -> str | None:
    """The warning of a measurement with more threads than the ``cores`` this process may run on (its affinity
    mask, ``bench.machine.usable_cores``), or None. The threads take turns on the cores, so the latency is not
    what that many cores give: the result says so rather than pass it off as such."""
    if threads is None or cores is None or threads <= cores:
        return None
    return (f"{THREADS_WARNING}: {threads} threads on the {cores} core(s) this machine lets edgekit use, so they "
            f"take turns and the latency is not that of {threads} cores; use --threads {cores} or fewer")
