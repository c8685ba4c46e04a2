"""Fit the cost model's free parameters on the published rows, and cross-validate it: the error out of sample.

The Pi family's rows (XNNPACK on Raspberry Pi CPUs) fit the CPU parameters; the Coral family's rows (Edge TPU
on three hosts) fit the Edge TPU ones. Each family has 5 free parameters (``FREE``), none of them for a
single row. Cross-validation leaves one network out: it refits the family without every row of a network
(all its quantizations and setups) and prices those rows with the refitted parameters. That held-out error is
what docs/estimates.md reports and what every estimate carries as ``expected_error_pct``
(``targets/data/expected_error.json``).

    python -m targets.fit             # the table with the parameters in the code
    python -m targets.fit --fit       # refit on every row and print the parameters to copy into the code
    python -m targets.fit --write     # cross-validate; rewrite docs/estimates.md's table and expected_error.json
    python -m targets.fit --summarise NAME FILE.tflite ...   # add models to calibration_models.json
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from targets import estimate_cpu, estimate_edgetpu
from targets.cpufamily import CpuFamily
from targets.opcost import OpCost
from targets.published import (
    DATA,
    HARDWARE,
    MODELS_FILE,
    Family,
    Model,
    Row,
    Setup,
    load_models,
    load_rows,
    load_sources,
)
from targets.registry import EDGE_TPU_USB_ON_RPI4

DOC = Path(__file__).resolve().parent.parent / "docs" / "estimates.md"
EXPECTED_FILE = DATA / "expected_error.json"
BEGIN, END = "<!-- begin: python -m targets.fit --write -->", "<!-- end: python -m targets.fit --write -->"


@dataclass(frozen=True)
class Fit:
    cpu: estimate_cpu.CpuParams
    tpu: estimate_edgetpu.TpuParams
    rpi4_usb_host_overhead_ms: float  # the Pi 4 host's USB path beyond a desktop's (three rows)


CURRENT = Fit(estimate_cpu.CALIBRATED, estimate_edgetpu.CALIBRATED, EDGE_TPU_USB_ON_RPI4.host_overhead_ms)

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


def predict_ms(row: Row, load, fit: Fit = CURRENT) -> float:
    """The model's latency for a row, in ms."""
    hw = HARDWARE[row.setup]
    if hw.accelerator is None:
        return 1e3 * estimate_cpu.time_of(load, hw.cpu, hw.threads, fit.cpu).total_s
    overhead = fit.rpi4_usb_host_overhead_ms if row.setup is Setup.RPI4_USB else 0.0
    return 1e3 * estimate_edgetpu.time_of(load, hw.accelerator, hw.cpu, hw.threads, overhead * 1e-3,
                                          fit.tpu, fit.cpu).total_s


def _get(fit: Fit, part: str | None, name: str) -> float:
    if name.startswith("gemm:"):
        return fit.cpu.gemm(name[5:])
    return getattr(getattr(fit, part) if part else fit, name)


def _set(fit: Fit, part: str | None, name: str, value: float) -> Fit:
    if name.startswith("gemm:"):
        cpu = fit.cpu.with_gemm(name[5:], value)
        if name[5:] == _A72:  # the Cortex-A76 has no row: it takes the A72's figure (estimate_cpu.CALIBRATED)
            cpu = cpu.with_gemm(CpuFamily.CORTEX_A76.value, value)
        return replace(fit, cpu=cpu.with_gemm(CpuFamily.GENERIC.value, min(cpu.gemm(_A53), cpu.gemm(_A72))))
    if part is None:
        return replace(fit, **{name: value})
    return replace(fit, **{part: replace(getattr(fit, part), **{name: value})})


def _loss(fit: Fit, rows: list[Row], loads: list) -> float:
    return sum(math.log(predict_ms(r, ld, fit) / r.ms) ** 2 for r, ld in zip(rows, loads, strict=True))


def fit_family(family: Family, rows: list[Row], loads: list, start: Fit = CURRENT, rounds: int = 80) -> Fit:
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


def fit_all(rows: list[Row], loads: list, start: Fit = CURRENT) -> Fit:
    """Both families' parameters fitted on ``rows``."""
    fit = fit_family(Family.PI, rows, loads, start)
    fit = fit_family(Family.CORAL, rows, loads, fit)
    return fit_family(Family.PHONE, rows, loads, fit)


@dataclass(frozen=True)
class Held:
    row: Row
    fitted_ms: float  # with the parameters in the code (fitted on every row)
    heldout_ms: float  # with the family refitted without any row of this network

    @property
    def error(self) -> float:
        return self.heldout_ms / self.row.ms - 1


def by_network(row: Row) -> str:
    return row.network


def by_device(row: Row) -> str:
    return row.device


def cross_validate(rows: tuple[Row, ...] | None = None, models: dict[str, Model] | None = None,
                   fit: Fit = CURRENT, *, hold_out: Callable[[Row], str] = by_network) -> list[Held]:
    """Leave one group out: each row priced by its family's parameters refitted without any row of its group.
    By network (the default): every quantization and setup of the same network, so no estimate has seen its
    model; ``hold_out=by_device``: every row of the same phone, so no estimate has seen its phone."""
    models = models or load_models()
    rows = usable(list(rows or load_rows()), models)[0]
    loads = [row_load(r, models[r.model]) for r in rows]
    refits: dict[tuple[Family, str], Fit] = {}
    out = []
    for row, load in zip(rows, loads, strict=True):
        key = (row.family, hold_out(row))
        if key not in refits:
            rest = [(r, ld) for r, ld in zip(rows, loads, strict=True) if hold_out(r) != key[1]]
            refits[key] = fit_family(row.family, [r for r, _ in rest], [ld for _, ld in rest], fit)
        out.append(Held(row, predict_ms(row, load, fit), predict_ms(row, load, refits[key])))
    return out


@dataclass(frozen=True)
class Summary:
    rows: int
    median_pct: float
    worst_pct: float
    rms_pct: float


def summarise_errors(held: list) -> Summary:
    """Median, worst and RMS of held-out errors (anything with ``.error``, a fraction: this module's
    :class:`Held`, or ``targets.energy``'s)."""
    errs = [abs(h.error) for h in held]
    return Summary(len(errs), 100 * statistics.median(errs), 100 * max(errs),
                   100 * math.sqrt(sum(e * e for e in errs) / len(errs)))


def by_family(held: list[Held]) -> dict[Family, Summary]:
    return {f: summarise_errors([h for h in held if h.row.family is f]) for f in Family}


def expected_errors(held: list[Held], by_phone: list[Held] = ()) -> dict[str, dict[str, int]]:
    """``{family: {quant: N}}``: the RMS held-out error in percent, rounded up, per family and model kind. For the
    phone family the larger of leave-one-network-out and leave-one-phone-out (``by_phone``): an estimate for a
    phone no row covers is the case users meet most."""
    out: dict[str, dict[str, int]] = {}
    for h in held:
        out.setdefault(h.row.family.value, {}).setdefault(h.row.quant, 0)
    for fam, kinds in out.items():
        for quant in kinds:
            for source in (held, by_phone):
                group = [h for h in source if h.row.family.value == fam and h.row.quant == quant]
                if group:
                    kinds[quant] = max(kinds[quant], math.ceil(summarise_errors(group).rms_pct))
    return out


def phone_held_out(held: list[Held], by_phone: list[Held]) -> list[str]:
    """The phone family's held-out table: median and worst |error| with each phone and each network left out."""
    lines = ["", "Phones, each group left out in turn (the family refitted without it):", "",
             "| left out | rows | median \\|error\\| | worst \\|error\\| |", "|---|---:|---:|---:|"]
    for label, source, key in (("phone", by_phone, by_device), ("network", held, by_network)):
        phone = [h for h in source if h.row.family is Family.PHONE]
        for group in dict.fromkeys(key(h.row) for h in phone):
            s = summarise_errors([h for h in phone if key(h.row) == group])
            lines.append(f"| {label} {group} | {s.rows} | {s.median_pct:.1f}% | {s.worst_pct:.1f}% |")
        s = summarise_errors(phone)
        lines.append(f"| every {label} in turn | {s.rows} | {s.median_pct:.1f}% | {s.worst_pct:.1f}% |")
    return lines


def render(held: list[Held], by_phone: list[Held] = ()) -> str:
    """The cross-validation section of docs/estimates.md."""
    sources = load_sources()
    lines = [BEGIN, "", "| family | model | setup | published ms | source | fitted ms | held-out ms | "
             "held-out error |", "|---|---|---|---:|---|---:|---:|---:|"]
    for h in held:
        r = h.row
        lines.append(f"| {r.family.value} | {r.model} | {r.setup.value}{f' ({r.note})' if r.note else ''} | "
                     f"{r.ms:g} | {sources[r.source]['date']}: {r.source} | {h.fitted_ms:.3g} | "
                     f"{h.heldout_ms:.3g} | {100 * h.error:+.0f}% |")
    lines += ["", "| family | rows | median \\|held-out error\\| | worst \\|held-out error\\| | RMS |",
              "|---|---:|---:|---:|---:|"]
    for fam, s in by_family(held).items():
        lines.append(f"| {fam.value} | {s.rows} | {s.median_pct:.1f}% | {s.worst_pct:.1f}% | {s.rms_pct:.1f}% |")
    if by_phone:
        lines += phone_held_out(held, by_phone)
    lines += ["", "`expected_error_pct` (RMS held-out error, rounded up) by family and model kind: "
              + "; ".join(f"{fam} {q} ±{n}%" for fam, kinds in expected_errors(held, by_phone).items()
                          for q, n in kinds.items()) + ".", "", END]
    return "\n".join(lines)


def write(held: list[Held], by_phone: list[Held] = (), doc: Path = DOC, expected: Path = EXPECTED_FILE) -> None:
    text = doc.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + render(held, by_phone) + text[stop:])
    expected.write_text(json.dumps(expected_errors(held, by_phone), indent=1, sort_keys=True) + "\n")


def summarise_model(path: str) -> dict:
    """One model's entry for calibration_models.json."""
    from edgekit.analysis import read_tflite
    from targets.opcost import input_bytes, op_costs, output_bytes

    graph = read_tflite(path)
    return {"input_bytes": input_bytes(graph), "output_bytes": output_bytes(graph),
            "ops": [list(op.to_dict().values()) for op in op_costs(graph)]}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--summarise"]:
        doc = json.loads(MODELS_FILE.read_text()) if MODELS_FILE.exists() else {"fields": [], "models": {}}
        for name, path in zip(argv[1::2], argv[2::2], strict=True):
            doc["models"][name] = summarise_model(path)
        doc["fields"] = list(OpCost.__dataclass_fields__)
        MODELS_FILE.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        return
    if argv[:1] == ["--fit"]:
        models = load_models()
        rows = usable(list(load_rows()), models)[0]
        print(fit_all(rows, [row_load(r, models[r.model]) for r in rows]))
        return
    held, by_phone = cross_validate(), cross_validate(hold_out=by_device)
    by_phone = [h for h in by_phone if h.row.family is Family.PHONE]
    if argv[:1] == ["--write"]:
        write(held, by_phone)
    print(render(held, by_phone))


if __name__ == "__main__":
    main(sys.argv[1:])
