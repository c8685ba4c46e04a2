"""Turn what a child measured into one result record, with its provenance and warnings."""

from __future__ import annotations

import os

from bench.provenance import provenance
from bench.runner import Config
from bench.stats import HIGH_CV, summarize
from edgekit.analysis.tflite_graph import TFLiteGraph
from edgekit.errors import EdgekitError, first_line

_WEIGHT_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}


def infer_quant(graph: TFLiteGraph) -> str:
    """What a .tflite file holds: fp32, fp16, dynamic, int8, uint8 or int16x8 (from tensor types)."""
    t = graph.tensors
    first_in = t[graph.inputs[0]].dtype if graph.inputs else "float32"
    weights = {t[op.inputs[1]].dtype for op in graph.ops if op.opcode in _WEIGHT_OPS and len(op.inputs) > 1
               and op.inputs[1] >= 0}
    acts = {x.dtype for x in t if not x.constant}
    if "int16" in acts and "int8" in weights:
        return "int16x8"
    if first_in in ("int8", "uint8"):
        return first_in
    if "int8" in weights:
        return "int8" if "int8" in acts else "dynamic"
    if "float16" in weights:
        return "fp16"
    return "fp32"


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


def failure_result(cfg: Config, err: BaseException, *, device: dict | None = None) -> dict:
    """The record of a configuration that could not be measured (or estimated): its error instead of numbers.

    It carries the same labels as a result (target, model, quant, threads, path, provenance), ``measured: false``
    and ``error``, so that it is printed, stored and exported beside the others. ``device``: where it was tried
    (this machine's facts for a measurement, none for an estimate).
    """
    prov = provenance()
    return {"target": cfg.target, "model": cfg.model, "quant": cfg.quant, "threads": cfg.threads,
            "xnnpack": cfg.xnnpack, "measured": False, "path": os.path.abspath(cfg.path),
            "error": error_text(err), "error_type": type(err).__name__,
            **({"device": device} if device is not None else {}),
            "edgekit": prov["edgekit"], "commit": prov["commit"], "time_utc": prov["time_utc"], "warnings": []}


def error_text(err: BaseException) -> str:
    """One line: an edgekit error's own message; anything else is an edgekit bug, named as one."""
    if isinstance(err, EdgekitError):
        return first_line(err)
    return f"edgekit failed on this model ({type(err).__name__}: {first_line(err)}); please report it"


def warnings_for(cv: float, governor: str | None) -> list[str]:
    out = []
    if cv > HIGH_CV:
        out.append(f"high variation (CV {cv:.0%} > {HIGH_CV:.0%}): the machine was busy; close other work "
                   "or raise --min-seconds")
    if governor is not None and governor != "performance":
        out.append(f"CPU governor is {governor!r}, not 'performance'; latencies may vary with frequency "
                   "scaling (sudo cpupower frequency-set -g performance)")
    return out
