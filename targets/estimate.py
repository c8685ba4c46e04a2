"""Estimates for a target with no device at hand: one entry point over the CPU and Edge TPU cost models.

:func:`estimate_bench` returns a record with the same keys as a measured ``edgekit bench`` result, marked
``measured: false`` with an ``estimate_method``; what an estimate cannot know (spread, init time, memory)
is None. Every estimate carries ``expected_error_pct``: the cross-validated error of its target family and
model kind on the published figures (docs/estimates.md, ``targets/data/expected_error.json``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from edgekit.analysis.tflite_graph import TFLiteGraph, read_tflite
from edgekit.errors import UsageError
from edgekit.result import EstimateInfo, Figures, Kind, Latency, Result
from targets import estimate_cpu, estimate_edgetpu
from targets.cpufamily import CpuFamily
from targets.energy import estimate_energy
from targets.opcost import op_costs
from targets.registry import CpuFigures, Target, TargetName

METHOD_CPU = ("per-op cost model (compute + memory + overhead per op, XNNPACK-like CPU kernels), "
              "calibrated on published figures; see docs/estimates.md")
METHOD_TPU = ("per-op Edge TPU cost model (TPU compute, parameter streaming, link I/O, host CPU for the ops "
              "the partition leaves there), calibrated on published figures; see docs/estimates.md, docs/edgetpu.md")
EST = "est."
HOST_CPU = "on the host CPU: not Edge TPU compatible"
EXPECTED_FILE = Path(__file__).resolve().parent / "data" / "expected_error.json"
# No published x86 XNNPACK row to cross-validate on: the bound the benchmark-suite test
# (tests/test_estimate_x86.py) holds this machine's estimate to against its own measurement.
X86_EXPECTED_ERROR_PCT = 30
_X86 = (CpuFamily.X86_AVX2.value, CpuFamily.X86_AVX512.value)


@dataclass(frozen=True)
class GraphEstimate:
    """What the cost model says of one inference of a graph on a target (``estimate_graph``), before it becomes
    a Result."""

    latency_s: float
    method: str
    breakdown: dict  # the model's terms, in ms
    notes: tuple[str, ...]
    threads: int
    device: dict  # like a measured result's: what ran it
    backend: str
    expected_error_pct: int  # the held-out error of the target family and model kind (docs/estimates.md)
    runs_on: str  # "cpu", "edgetpu", or "host-cpu": an accelerator target whose TPU runs none of the model


@cache
def _expected() -> dict[str, dict[str, int]]:
    return json.loads(EXPECTED_FILE.read_text())


def expected_error_pct(cpu: CpuFigures, quant: str, on_tpu: bool) -> int:
    """The cross-validated error for an estimate: Coral rows if the TPU runs it, else the CPU family's rows.

    ``quant`` is the compute dtype of the graph ("int8" or anything else, priced at the fp32 rate).
    """
    dtype = "int8" if quant == "int8" else "fp32"
    if on_tpu:
        return _expected()["coral"]["int8"]
    if cpu.family in _X86:
        return X86_EXPECTED_ERROR_PCT
    if cpu.clusters:  # a phone, whether or not a published row covers it: the phone family's held-out error
        phone = _expected()["phone"]
        return phone.get(dtype, max(phone.values()))
    pi = _expected()["pi"]
    return pi.get(dtype, max(pi.values()))


def _cpu_of(target: Target) -> CpuFigures:
    if target.cpu is not None:
        return target.cpu
    if target.name == TargetName.CPU:
        from targets.hostcpu import cpu_figures

        return cpu_figures()
    raise UsageError(f"no estimator for target {target.key!r}: estimates cover CPU and Edge TPU targets "
                     "(cpu, rpi4, rpi5, coral-usb, coral-devboard and user targets); measure it instead")


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 4)


def estimate_graph(graph: TFLiteGraph, target: Target, threads: int | None = None) -> GraphEstimate:
    """Estimate one inference of ``graph`` on ``target``; ``threads`` defaults to the target's cores."""
    cpu = _cpu_of(target)
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be 1 or more, got {threads}")
    threads = threads or estimate_cpu.default_threads(cpu)
    notes = []
    if threads > cpu.cores:
        notes.append(f"{threads} threads on {cpu.cores} cores: threads beyond the cores add nothing")
    device = {"target": target.title, "cpu": cpu.description, "accelerator": None}
    quant = _compute_dtype(graph)
    if cpu.clusters:
        notes.append(estimate_cpu.placement_note(cpu, threads))
        device["cores_assumed"] = [f"{core} @ {ghz:g} GHz" for core, ghz in estimate_cpu.placed(cpu, threads)]
    if target.phone is not None:
        device["soc"] = target.phone.soc
    if target.accelerator is None:
        t = estimate_cpu.estimate_ops(op_costs(graph), cpu, threads)
        terms = {"compute_ms": _ms(t.compute_s), "memory_ms": _ms(t.memory_s), "overhead_ms": _ms(t.overhead_s)}
        return GraphEstimate(t.total_s, METHOD_CPU, terms, tuple(notes), threads, device, "xnnpack",
                        expected_error_pct(cpu, quant, False), "cpu")
    acc = target.accelerator
    t, report = estimate_edgetpu.estimate_graph(graph, acc, cpu, threads, acc.host_overhead_ms * 1e-3)
    device["accelerator"] = f"Edge TPU {acc.int8_tops:g} TOPS over {acc.link}"
    terms = {"tpu_compute_ms": _ms(t.tpu_compute_s), "param_stream_ms": _ms(t.stream_s), "io_ms": _ms(t.io_s),
             "host_overhead_ms": _ms(t.host_s), "host_cpu_ops_ms": _ms(t.cpu_s)}
    if report.tpu_ops == 0:
        why = "; ".join(report.reasons[:1]) or "its first op cannot run on the Edge TPU"
        notes.append(f"{HOST_CPU} ({why}): the whole model runs on the host CPU ({cpu.description}), "
                     "so this is the host's time, not the Edge TPU's")
        return GraphEstimate(t.total_s, METHOD_CPU, terms, tuple(notes), threads, device, "xnnpack",
                        expected_error_pct(cpu, quant, False), "host-cpu")
    if report.first_unsupported is not None and not report.compiled_for_edgetpu:
        notes.append(f"{report.tpu_ops} of {len(report.ops)} ops on the Edge TPU; the rest run on the host CPU "
                     "(see edgekit check)")
    notes.extend(report.warnings)
    return GraphEstimate(t.total_s, METHOD_TPU, terms, tuple(notes), threads, device, "edgetpu",
                    expected_error_pct(cpu, quant, True), "edgetpu")


def _compute_dtype(graph: TFLiteGraph) -> str:
    """"int8" when most MACs are 8-bit, else "fp32" (the rate an estimate prices them at)."""
    ops = op_costs(graph)
    int8 = sum(op.macs for op in ops if op.dtype == "int8")
    return "int8" if int8 * 2 > sum(op.macs for op in ops) else "fp32"


def _quant(graph: TFLiteGraph) -> str | None:
    from edgekit.analysis.quant_label import infer_quant

    return infer_quant(graph)


def estimate_bench(tflite_path: str | Path, target: Target, threads: int | None = None,
                   model: str | None = None, quant: str | None = None, *, graph: TFLiteGraph | None = None
                   ) -> Result:
    """An ``edgekit bench`` result for ``target``, estimated rather than measured.

    Args:
        tflite_path: the model file.
        target: the target (``targets.registry.get_target`` parses a name).
        threads: CPU threads (the host's for the Edge TPU); None means all the target's cores.
        model, quant: labels for the record; default to the file stem and the quant read from the file.
        graph: the file as already read (``read_tflite``), so that it is not read again for each thread count.

    Raises:
        ModelFileError: a missing or corrupt file. UsageError: a target with no estimator.
    """
    path = Path(tflite_path)
    graph = graph if graph is not None else read_tflite(path)
    size = graph.file_bytes
    graph, compiled_notes = _for_compiled(path, graph, target)
    est = estimate_graph(graph, target, threads)
    macs = sum(op.macs for op in op_costs(graph))
    if graph.compiled_for_edgetpu:  # the Edge TPU op hides its layers: the count is unknown, not 0
        macs = macs or None
    ms = _ms(est.latency_s)
    figures = Figures(latency_ms=Latency(min=None, mean=ms, std=None, p50=ms, p90=None, p99=None),
                      size_bytes=size, macs=macs,
                      gmacs_per_s=round(macs / est.latency_s / 1e9, 3) if est.latency_s > 0 and macs else None,
                      throughput_ips=round(1 / est.latency_s, 2) if est.latency_s > 0 else None, backend=est.backend)
    how = EstimateInfo(estimate_method=est.method, expected_error_pct=est.expected_error_pct, estimate=est.breakdown,
                       runs_on=est.runs_on)
    result = Result(kind=Kind.ESTIMATED, target=target.key, model=model or path.stem, quant=quant or _quant(graph),
                    threads=est.threads, path=str(path.resolve()), figures=figures, estimate_info=how,
                    extra={"device": est.device}, warnings=[*compiled_notes, *est.notes])
    return replace(result, energy=estimate_energy(result, target))


def _for_compiled(path: Path, graph: TFLiteGraph, target: Target) -> tuple[TFLiteGraph, tuple[str, ...]]:
    """The graph to estimate for a compiled ``*_edgetpu.tflite``, and what the estimate then means.

    The Edge TPU op hides the layers it holds, so their work is read from the uncompiled model beside it
    (edgetpu_compiler writes ``m_edgetpu.tflite`` next to ``m.tflite``) when it is there.
    """
    if not graph.compiled_for_edgetpu:
        return graph, ()
    if target.accelerator is None:
        raise UsageError(f"{str(path)!r} is compiled for the Edge TPU (it holds an edgetpu-custom-op) and cannot "
                         f"run on {target.key!r}; estimate it for an Edge TPU target (coral-usb, coral-devboard)")
    source = path.with_name(path.name.removesuffix("_edgetpu.tflite") + ".tflite")
    if source != path and source.is_file():
        plain = read_tflite(source)
        if not plain.compiled_for_edgetpu:
            return plain, (f"compiled model: estimated from {source.name} beside it, partitioned by edgekit's "
                           "Edge TPU rules (the Edge TPU op hides its layers)",)
    return graph, ("compiled model: the Edge TPU op hides its layers, so TPU compute is left out and the "
                   f"estimate is a lower bound; put the uncompiled model beside it ({source.name}) for a full one",)


def cell(value: str, result: Result) -> str:
    """A table cell, suffixed "est." when the result is an estimate (every cell of an estimate says so)."""
    return value if result.measured or value in ("", "-") else f"{value} {EST}"


def two_digits(value: float) -> str:
    """``value`` at two significant digits, without exponent: 1609.7 -> "1600", 31.2 -> "31", 0.2978 -> "0.30"."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exp = math.floor(math.log10(abs(value)))
    if exp >= 1:
        return f"{round(value, 1 - exp):.0f}"
    return f"{value:.{1 - exp}f}"


def estimate_cell(value: float | None, result: Result) -> str:
    """A number of an estimate as "31 ±12% est." (two significant digits and the expected error)."""
    if value is None:
        return "-"
    if result.measured:
        return f"{value:.3g}"
    pct = result.expected_error_pct
    return f"{two_digits(value)} ±{pct}% {EST}" if pct is not None else f"{two_digits(value)} {EST}"


def backend_cell(result: Result) -> str:
    """The backend of a result, or where an accelerator target ran a model its accelerator cannot."""
    if result.estimate_info is not None and result.estimate_info.runs_on == "host-cpu":
        return f"{HOST_CPU} {EST}"
    return cell((result.figures.backend if result.figures is not None else None) or "-", result)
