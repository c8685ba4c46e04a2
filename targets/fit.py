"""Calibration: the published figures the estimators are fitted on, the fit, and the error per row.

The models are stored as per-op summaries (``targets/data/calibration_models.json``, made by
:func:`summarise` from edgekit's own zoo models converted at batch 1 with random weights, as the
XNNPACK rows were) so the fit and its test need no TensorFlow. Run ``python -m targets.fit`` to
refit and print the table docs/estimates.md quotes; ``--summarise NAME FILE.tflite`` adds a model.

Rows: ../shared/reference/published-figures.md (google/XNNPACK README, coral.ai/docs/edgetpu/benchmarks
Table 1, google-coral/pycoral benchmarks/reference). Every row is used in the fit; the fitted numbers are
copied into ``estimate_cpu.CALIBRATED``, ``estimate_edgetpu.CALIBRATED`` and the coral-usb record.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from targets import estimate_cpu, estimate_edgetpu
from targets.opcost import OpCost
from targets.registry import A53_CPU, EDGE_TPU_PCIE, EDGE_TPU_USB, EDGE_TPU_USB_ON_RPI4, RPI4_CPU, CpuFigures

DATA = Path(__file__).resolve().parent / "data" / "calibration_models.json"

# The Coral benchmark's "desktop CPU": a Xeon-class x86-64 host. Assumed figures: AVX2 with two FMA pipes.
DESKTOP_HOST = CpuFigures(8, 3.5, 32.0, 64.0, 15.0, "Xeon-class x86-64 desktop (assumed figures)", 16 << 20)


@dataclass(frozen=True)
class Row:
    model: str  # key in calibration_models.json
    setup: str  # "rpi4-cpu", "desktop-usb", "devboard", "rpi4-usb"
    low_ms: float
    high_ms: float
    source: str

    @property
    def published_ms(self) -> float:
        return (self.low_ms + self.high_ms) / 2


_XNN = "XNNPACK README (Feb 2022), RPi 4, 32-/64-bit OS"
_CORAL = "coral.ai/docs/edgetpu/benchmarks Table 1"
ROWS = (
    Row("mobilenet_v1_fp32", "rpi4-cpu", 72, 77, _XNN),
    Row("mobilenet_v1_int8", "rpi4-cpu", 24, 29, _XNN),
    Row("mobilenet_v1_int8", "desktop-usb", 2.4, 2.4, _CORAL),
    Row("inception_v1_int8", "desktop-usb", 3.4, 3.4, _CORAL),
    Row("vgg16_int8", "desktop-usb", 296, 296, _CORAL),
    Row("mobilenet_v1_int8", "devboard", 2.4, 2.4, _CORAL),
    Row("inception_v1_int8", "devboard", 4.1, 4.1, _CORAL),
    Row("vgg16_int8", "devboard", 343, 343, _CORAL),
    Row("mobilenet_v1_int8", "rpi4-usb", 4.2, 4.2, "pycoral benchmarks/reference, RPi 4B + USB Accelerator"),
)


@dataclass(frozen=True)
class Fit:
    cpu: estimate_cpu.CpuParams
    tpu: estimate_edgetpu.TpuParams
    rpi4_usb_host_overhead_ms: float


CURRENT = Fit(estimate_cpu.CALIBRATED, estimate_edgetpu.CALIBRATED, EDGE_TPU_USB_ON_RPI4.host_overhead_ms)


def load_models(path: Path = DATA) -> dict[str, tuple[tuple[OpCost, ...], int, int]]:
    """``{name: (ops, input bytes, output bytes)}`` from the stored summaries."""
    doc = json.loads(path.read_text())
    names = doc["fields"]
    return {k: (tuple(OpCost.from_dict(dict(zip(names, op, strict=True))) for op in m["ops"]),
                m["input_bytes"], m["output_bytes"]) for k, m in doc["models"].items()}


def predict_ms(row: Row, models: dict, fit: Fit = CURRENT) -> float:
    ops, in_bytes, out_bytes = models[row.model]
    if row.setup == "rpi4-cpu":
        return 1e3 * estimate_cpu.estimate_ops(ops, RPI4_CPU, 4, fit.cpu).total_s
    acc, host, overhead = {"desktop-usb": (EDGE_TPU_USB, DESKTOP_HOST, 0.0),
                           "devboard": (EDGE_TPU_PCIE, A53_CPU, 0.0),
                           "rpi4-usb": (EDGE_TPU_USB, RPI4_CPU, fit.rpi4_usb_host_overhead_ms)}[row.setup]
    t = estimate_edgetpu.estimate_split(ops, len(ops), out_bytes, in_bytes, acc, host, 4, overhead * 1e-3, fit.tpu)
    return 1e3 * t.total_s


def errors(fit: Fit = CURRENT, models: dict | None = None) -> list[tuple[Row, float, float]]:
    """``(row, estimate ms, relative error)`` per row; the error is against the published range."""
    models = models or load_models()
    out = []
    for row in ROWS:
        est = predict_ms(row, models, fit)
        ref = min(max(est, row.low_ms), row.high_ms)  # inside a published range counts as no error
        out.append((row, est, est / ref - 1))
    return out


def _loss(fit: Fit, models: dict) -> float:
    return sum(math.log1p(e) ** 2 for _, _, e in errors(fit, models))


_FREE = (("cpu", "gemm_efficiency"), ("tpu", "tpu_efficiency"), ("tpu", "op_overhead_us"),
         ("tpu", "invoke_overhead_ms"), ("tpu", "link_efficiency"), (None, "rpi4_usb_host_overhead_ms"))


def _get(fit: Fit, part: str | None, name: str) -> float:
    return getattr(getattr(fit, part) if part else fit, name)


def _set(fit: Fit, part: str | None, name: str, value: float) -> Fit:
    if part is None:
        return replace(fit, **{name: value})
    return replace(fit, **{part: replace(getattr(fit, part), **{name: value})})


def fit_parameters(start: Fit = CURRENT, rounds: int = 60) -> Fit:
    """Least squares on log error, by coordinate search in log space over the free parameters."""
    models = load_models()
    best, loss, step = start, _loss(start, models), 0.5
    for _ in range(rounds):
        improved = False
        for part, name in _FREE:
            for factor in (math.exp(step), math.exp(-step)):
                value = max(_get(best, part, name), 1e-3) * factor
                if name.endswith("efficiency"):
                    value = min(value, 1.0)
                trial = _set(best, part, name, value)
                trial_loss = _loss(trial, models)
                if trial_loss < loss:
                    best, loss, improved = trial, trial_loss, True
        if not improved:
            step /= 2
            if step < 1e-3:
                break
    return best


def summarise(path: str) -> dict:
    """One model's entry for calibration_models.json."""
    from edgekit.analysis import read_tflite
    from targets.opcost import input_bytes, op_costs, output_bytes

    graph = read_tflite(path)
    return {"input_bytes": input_bytes(graph), "output_bytes": output_bytes(graph),
            "ops": [list(op.to_dict().values()) for op in op_costs(graph)]}


def _table(fit: Fit) -> str:
    lines = ["| model | setup | published ms | estimate ms | error |", "|---|---|---:|---:|---:|"]
    for row, est, err in errors(fit):
        pub = f"{row.low_ms:g}-{row.high_ms:g}" if row.low_ms != row.high_ms else f"{row.low_ms:g}"
        lines.append(f"| {row.model} | {row.setup} | {pub} | {est:.3g} | {100 * err:+.0f}% |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--summarise"]:
        doc = json.loads(DATA.read_text()) if DATA.exists() else {"fields": [], "models": {}}
        for name, path in zip(argv[1::2], argv[2::2], strict=True):
            doc["models"][name] = summarise(path)
        doc["fields"] = list(OpCost.__dataclass_fields__)
        DATA.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        return
    fit = fit_parameters() if argv[:1] == ["--fit"] else CURRENT
    print(fit)
    print(_table(fit))


if __name__ == "__main__":
    main(sys.argv[1:])
