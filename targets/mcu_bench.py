"""``edgekit bench --target cortex-m4|cortex-m7``: the model runs in TFLite Micro's interpreter on this machine
on a fixed input, its outputs are compared with LiteRT's, and its latency on the board is estimated from
published TFLM + CMSIS-NN figures (``targets.mcu_latency``), beside the measured arena and estimated flash.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from edgekit.analysis.tflite_graph import TFLiteGraph
from edgekit.result import EstimateInfo, Figures, FitVerdict, Kind, Latency, Result
from edgekit.runtime.tflm import tflm_version
from targets import mcu_latency
from targets.energy import estimate_energy
from targets.mcu import examine, mcu_target, verdict
from targets.opcost import op_costs
from targets.registry import Target

METHOD = ("int8 MACs x cycles per MAC fitted per core on published TFLM + CMSIS-NN latencies (MLPerf Tiny, "
          "Plumerai), scaled to the board's clock; see docs/mcu.md")


def compare_outputs(tflm: tuple[np.ndarray, ...], litert: list[np.ndarray], graph: TFLiteGraph) -> dict:
    """How far TFLM's outputs are from LiteRT's on the same input: in quantization steps for integer outputs."""
    steps, abs_diff, top1 = 0, 0.0, True
    for a, b, index in zip(tflm, litert, graph.outputs, strict=True):
        a, b = np.asarray(a).reshape(np.shape(b)), np.asarray(b)
        scale = graph.tensors[index].scale
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        if np.issubdtype(b.dtype, np.integer):
            steps = max(steps, int(diff.max(initial=0)))
            abs_diff = max(abs_diff, float(diff.max(initial=0)) * (float(scale[0]) if scale else 1.0))
        else:
            abs_diff = max(abs_diff, float(diff.max(initial=0)))
        top1 = top1 and int(np.argmax(a)) == int(np.argmax(b))
    integer = all(np.issubdtype(np.asarray(b).dtype, np.integer) for b in litert)
    return {"max_abs_diff": abs_diff, "max_diff_steps": steps if integer else None, "top1_agree": top1,
            "reference": "LiteRT builtin kernels (no XNNPACK), same fixed input"}


def _litert_outputs(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from edgekit.runtime import load

    out = load(path, xnnpack=False).predict_raw(*inputs)
    return out if isinstance(out, list) else [out]


def _latency(quant: str, macs: int, target: Target) -> tuple[float | None, str | None]:
    """The estimate in ms, or None and why not."""
    m = target.mcu
    if quant != "int8":
        return None, (f"no latency estimate for {quant}: the published TFLM + CMSIS-NN figures are int8, and "
                      "TFLM runs float and int16 on other kernels")
    return mcu_latency.estimate_ms(macs, m.core, m.mhz), None


def bench_mcu(path: str | Path, target: Target, *, model: str | None = None) -> Result:
    """An ``edgekit bench`` record for a microcontroller target: TFLM run here, latency estimated.

    Raises:
        ModelFileError, UsageError, TflmMissingError: as :func:`targets.mcu.check_mcu`.
    """
    tgt = mcu_target(target)
    path = Path(path)
    report, run, graph = examine(path, tgt)
    macs = sum(op.macs for op in op_costs(graph))
    warnings = list(report.warnings) + list(report.reasons)
    vs_local = None
    if run is not None and run.ok and report.arena is not None:
        from targets.mcu import fixed_inputs

        vs_local = compare_outputs(run.outputs, _litert_outputs(path, fixed_inputs(graph)), graph)
        if vs_local["max_diff_steps"] is not None and vs_local["max_diff_steps"] > 1:
            warnings.append(f"TFLite Micro's outputs differ from LiteRT's by {vs_local['max_diff_steps']} "
                            "quantization steps (more than 1)")
    ms, why_not = _latency(report.quant, macs, tgt)
    if why_not:
        warnings.append(why_not)
    pct, basis = mcu_latency.expected_error_pct(tgt.mcu.core)
    p50 = round(ms, 3) if ms is not None else None
    figures = Figures(latency_ms=Latency(min=None, mean=p50, std=None, p50=p50, p90=None, p99=None),
                      size_bytes=graph.file_bytes, macs=macs, gmacs_per_s=round(macs / ms / 1e6, 4) if ms else None,
                      throughput_ips=round(1e3 / ms, 2) if ms else None, backend="tflite-micro")
    how = EstimateInfo(estimate_method=METHOD, expected_error_pct=pct if ms is not None else None,
                       expected_error_basis=basis, sources=mcu_latency.sources(tgt.mcu.core))
    fit = FitVerdict(fits=report.fits, verdict=verdict(report), reasons=tuple(report.reasons),
                     ram={"arena_bytes": report.arena.arena_bytes if report.arena else None,
                          "arena_budget_bytes": tgt.mcu.arena_budget_bytes, "measured": report.arena is not None},
                     flash={"flash_bytes": report.flash_bytes, "flash_budget_bytes": tgt.mcu.flash_bytes,
                            "estimated": True})
    extra = {"backend_version": tflm_version(),
             "device": {"target": tgt.title, "board": tgt.mcu.board, "mhz": tgt.mcu.mhz, "accelerator": None},
             "outputs_vs_local": vs_local}
    result = Result(kind=Kind.FIT, target=tgt.key, model=model or path.stem, quant=report.quant, threads=1,
                    path=str(path.resolve()), figures=figures, estimate_info=how, fit=fit, extra=extra,
                    warnings=warnings)
    return replace(result, energy=estimate_energy(result, tgt))
