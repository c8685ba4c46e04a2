"""Cross-validate the cost model fitted on the published rows (``targets.fit_params``): the error out of sample.

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
from dataclasses import dataclass
from pathlib import Path

from targets.fit_params import CURRENT, FittedParams, fit_all, fit_family, predict_ms, row_load, usable
from targets.opcost import OpCost
from targets.published import (
    DATA,
    MODELS_FILE,
    Family,
    Model,
    Row,
    load_models,
    load_rows,
    load_sources,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "estimates.md"
EXPECTED_FILE = DATA / "expected_error.json"
BEGIN, END = "<!-- begin: python -m targets.fit --write -->", "<!-- end: python -m targets.fit --write -->"


@dataclass(frozen=True)
class HeldOutLatency:
    """One published latency row against the cost model's figure, fitted on every row and held out."""

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
                   fit: FittedParams = CURRENT, *, hold_out: Callable[[Row], str] = by_network) -> list[HeldOutLatency]:
    """Leave one group out: each row priced by its family's parameters refitted without any row of its group.
    By network (the default): every quantization and setup of the same network, so no estimate has seen its
    model; ``hold_out=by_device``: every row of the same phone, so no estimate has seen its phone."""
    models = models or load_models()
    rows = usable(list(rows or load_rows()), models)[0]
    loads = [row_load(r, models[r.model]) for r in rows]
    refits: dict[tuple[Family, str], FittedParams] = {}
    out = []
    for row, load in zip(rows, loads, strict=True):
        key = (row.family, hold_out(row))
        if key not in refits:
            rest = [(r, ld) for r, ld in zip(rows, loads, strict=True) if hold_out(r) != key[1]]
            refits[key] = fit_family(row.family, [r for r, _ in rest], [ld for _, ld in rest], fit)
        out.append(HeldOutLatency(row, predict_ms(row, load, fit), predict_ms(row, load, refits[key])))
    return out


@dataclass(frozen=True)
class ErrorSummary:
    """Held-out errors summarised, in percent."""

    rows: int
    median_pct: float
    worst_pct: float
    rms_pct: float


def summarise_errors(held: list) -> ErrorSummary:
    """Median, worst and RMS of held-out errors (anything with ``.error``, a fraction: this module's
    :class:`HeldOutLatency`, or ``targets.energy_cv``'s :class:`HeldOutEnergy`)."""
    errs = [abs(h.error) for h in held]
    return ErrorSummary(len(errs), 100 * statistics.median(errs), 100 * max(errs),
                        100 * math.sqrt(sum(e * e for e in errs) / len(errs)))


def by_family(held: list[HeldOutLatency]) -> dict[Family, ErrorSummary]:
    return {f: summarise_errors([h for h in held if h.row.family is f]) for f in Family}


def expected_errors(held: list[HeldOutLatency], by_phone: list[HeldOutLatency] = ()) -> dict[str, dict[str, int]]:
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


def phone_held_out(held: list[HeldOutLatency], by_phone: list[HeldOutLatency]) -> list[str]:
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


def render(held: list[HeldOutLatency], by_phone: list[HeldOutLatency] = ()) -> str:
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


def write(held: list[HeldOutLatency], by_phone: list[HeldOutLatency] = (), doc: Path = DOC,
          expected: Path = EXPECTED_FILE) -> None:
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
