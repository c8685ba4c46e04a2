"""Turn what a child measured into one result record, with its provenance and warnings."""

from __future__ import annotations

import os

from bench.provenance import provenance
from bench.runner import Config
from bench.stats import HIGH_CV, summarize
from edgekit.analysis.tflite_graph import TFLiteGraph


def build_result(cfg: Config, measured: dict, graph: TFLiteGraph, macs: int) -> dict:
    """The record ``--json``, the table and the results store share."""
    lat = summarize(measured["samples_ms"])
    p50_s = lat.p50 / 1e3
    prov = provenance()
    base = measured.get("baseline_rss_mb")
    doc = {"target": cfg.target, "model": cfg.model, "quant": cfg.quant, "threads": cfg.threads,
           "xnnpack": cfg.xnnpack, "measured": True, "path": os.path.abspath(cfg.path),
           "latency_ms": {k: round(v, 4) for k, v in lat.to_dict().items() if k not in ("runs", "cv")},
           "cv": round(lat.cv, 4), "runs": lat.runs, "warmup": cfg.warmup,
           "init_ms": round(measured["init_ms"], 3), "first_ms": round(measured["first_ms"], 3),
           "throughput_ips": round(1.0 / p50_s, 2) if p50_s > 0 else None,
           "peak_rss_mb": round(measured["peak_rss_mb"], 1),
           "rss_increase_mb": round(measured["peak_rss_mb"] - base, 1) if base is not None else None,
           "baseline_rss_mb": round(base, 1) if base is not None else None,
           "size_bytes": graph.file_bytes, "macs": macs,
           "gmacs_per_s": round(macs / p50_s / 1e9, 3) if p50_s > 0 and macs else None,
           "backend": measured["backend"], "backend_version": measured["backend_version"], **prov,
           "warnings": warnings_for(lat.cv, prov["device"].get("governor"))}
    for key in ("accelerator", "fully_accelerated", "baseline", "tf_imported"):
        if key in measured:
            doc[key] = measured[key]
    return doc


def warnings_for(cv: float, governor: str | None) -> list[str]:
    out = []
    if cv > HIGH_CV:
        out.append(f"high variation (CV {cv:.0%} > {HIGH_CV:.0%}): the machine was busy; close other work "
                   "or raise --min-seconds")
    if governor is not None and governor != "performance":
        out.append(f"CPU governor is {governor!r}, not 'performance'; latencies may vary with frequency "
                   "scaling (sudo cpupower frequency-set -g performance)")
    return out
