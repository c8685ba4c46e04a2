"""The cost model's free parameters and their fit on the published rows: least squares on log error, per family
(``FREE``), by coordinate search. ``targets.fit`` cross-validates it and writes what it finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from targets import estimate_cpu, estimate_edgetpu
from targets.cpufamily import CpuFamily
from targets.published import HARDWARE, Family, Model, Row, Setup
from targets.registry import EDGE_TPU_USB_ON_RPI4


@dataclass(frozen=True)
class FittedParams:
    """The cost model's fitted parameters: CPU, Edge TPU and the Pi 4's USB host overhead."""

    cpu: estimate_cpu.CpuParams
    tpu: estimate_edgetpu.TpuParams
    rpi4_usb_host_overhead_ms: float  # the Pi 4 host's USB path beyond a desktop's (three rows)


CURRENT = FittedParams(estimate_cpu.CALIBRATED, estimate_edgetpu.CALIBRATED, EDGE_TPU_USB_ON_RPI4.host_overhead_ms)

_A53, _A72, _PHONE = CpuFamily.CORTEX_A53.value, CpuFamily.CORTEX_A72.value, CpuFamily.PHONE.value
FREE = {
    Family.PHONE: (("cpu", f"gemm:{_PHONE}"), ("cpu", "phone_int8_ratio")),
    Family.PI: (("cpu", f"gemm:{_A53}"), ("cpu", f"gemm:{_A72}"), ("cpu", "depthwise_ratio"), ("cpu", "int8_ratio"),
                ("cpu", "op_overhead_cycles")),
    Family.CORAL: (("tpu", "tpu_efficiency"), ("tpu", "op_overhead_us"), ("tpu", "link_efficiency"),
                   ("tpu", "invoke_overhead_ms"), (None, "rpi4_usb_host_overhead_ms")),
}


def row_load(row: Row, model: Model):
    """The row's model summed for its setup (``estimate_cpu.CpuLoad`` or ``estimate_edgetpu.TpuLoad``)."""
    hw = HARDWARE[row.setup]
    if hw.accelerator is None:
        return estimate_cpu.load_of(model.ops, hw.cpu)
    return estimate_edgetpu.load_of(model.ops, len(model.ops), model.output_bytes, model.input_bytes,
                                    hw.accelerator, hw.cpu)


def lower_bound_ms(row: Row, load) -> float:
    """The least time the row's model, as described, can take: its uncached parameters over the link at the
    link's full nominal rate (Edge TPU rows), or its MACs at every core's peak rate (CPU rows)."""
    hw = HARDWARE[row.setup]
    if hw.accelerator is None:
        return 1e3 * (load.gemm_s + load.depthwise_s) / hw.cpu.cores
    return 1e3 * load.streamed_bytes / (hw.accelerator.host_link_gbps * 1e9)


def usable(rows: list[Row], models: dict[str, Model]) -> tuple[list[Row], list[tuple[Row, float]]]:
    """The rows the model can describe, and those published faster than their model's lower bound (with it):
    such a row ran a different network than the one we summarised, so no parameter should chase it."""
    keep, dropped = [], []
    for r in rows:
        bound = lower_bound_ms(r, row_load(r, models[r.model]))
        (keep.append(r) if r.ms >= bound else dropped.append((r, bound)))
    return keep, dropped


def predict_ms(row: Row, load, fit: FittedParams = CURRENT) -> float:
    """The model's latency for a row, in ms."""
    hw = HARDWARE[row.setup]
    if hw.accelerator is None:
        return 1e3 * estimate_cpu.time_of(load, hw.cpu, hw.threads, fit.cpu).total_s
    overhead = fit.rpi4_usb_host_overhead_ms if row.setup is Setup.RPI4_USB else 0.0
    return 1e3 * estimate_edgetpu.time_of(load, hw.accelerator, hw.cpu, hw.threads, overhead * 1e-3,
                                          fit.tpu, fit.cpu).total_s


def _get(fit: FittedParams, part: str | None, name: str) -> float:
    if name.startswith("gemm:"):
        return fit.cpu.gemm(name[5:])
    return getattr(getattr(fit, part) if part else fit, name)


def _set(fit: FittedParams, part: str | None, name: str, value: float) -> FittedParams:
    if name.startswith("gemm:"):
        cpu = fit.cpu.with_gemm(name[5:], value)
        if name[5:] == _A72:  # the Cortex-A76 has no row: it takes the A72's figure (estimate_cpu.CALIBRATED)
            cpu = cpu.with_gemm(CpuFamily.CORTEX_A76.value, value)
        return replace(fit, cpu=cpu.with_gemm(CpuFamily.GENERIC.value, min(cpu.gemm(_A53), cpu.gemm(_A72))))
    if part is None:
        return replace(fit, **{name: value})
    return replace(fit, **{part: replace(getattr(fit, part), **{name: value})})


def _loss(fit: FittedParams, rows: list[Row], loads: list) -> float:
    return sum(math.log(predict_ms(r, ld, fit) / r.ms) ** 2 for r, ld in zip(rows, loads, strict=True))


def fit_family(family: Family, rows: list[Row], loads: list, start: FittedParams = CURRENT,
               rounds: int = 80) -> FittedParams:
    """Least squares on log error over ``family``'s free parameters, by coordinate search in log space."""
    pairs = [(r, ld) for r, ld in zip(rows, loads, strict=True) if r.family is family]
    rows, loads = [p[0] for p in pairs], [p[1] for p in pairs]
    best, loss, step = start, _loss(start, rows, loads), 0.5
    for _ in range(rounds):
        improved = False
        for part, name in FREE[family]:
            for factor in (math.exp(step), math.exp(-step)):
                value = max(_get(best, part, name), 1e-3) * factor
                if "efficiency" in name or name.startswith("gemm:"):
                    value = min(value, 1.0)
                trial = _set(best, part, name, value)
                trial_loss = _loss(trial, rows, loads)
                if trial_loss < loss - 1e-12:
                    best, loss, improved = trial, trial_loss, True
        if not improved:
            step /= 2
            if step < 2e-3:
                break
    return best


def fit_all(rows: list[Row], loads: list, start: FittedParams = CURRENT) -> FittedParams:
    """Both families' parameters fitted on ``rows``."""
    fit = fit_family(Family.PI, rows, loads, start)
    fit = fit_family(Family.CORAL, rows, loads, fit)
    return fit_family(Family.PHONE, rows, loads, fit)
