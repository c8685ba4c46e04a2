"""The table ``edgekit bench`` prints for estimates: every number at two significant digits, "±N% est."."""

from __future__ import annotations

from edgekit.cli._common import console, human_bytes
from edgekit.cli._table import FitTable, col
from edgekit.result import Result


def print_estimates(results: list[Result], *, wide: bool = False) -> None:
    """One row per estimate; each number carries its expected error and "est."; a model that could not be
    analysed is a row marked "failed", its error printed under the table."""
    from edgekit.cli.bench_report import energy_cell, print_energy_notes, print_failures
    from targets.estimate import backend_cell, estimate_cell

    done = [r for r in results if not r.failed]
    device = f" ({done[0].extra['device']['target']})" if done else ""
    table = FitTable(f"edgekit bench estimate for {results[0].target}{device}: no device measured", [
        col("model", names=True), col("quant", 9), col("threads", 6, right=True), col("p50 ms", 10, right=True),
        col("GMAC/s", 3, right=True), col("energy mJ", 5, right=True), col("size", 4, right=True),
        col("backend", 2, fold=True)])
    for r in results:
        if r.failed:
            table.add_row(r.model, r.quant or "-", str(r.threads or "-"), "failed", "-", "-", "-", "-")
            continue
        table.add_row(r.model, r.quant or "-", str(r.threads), estimate_cell(r.p50_ms, r),
                      estimate_cell(r.figures.gmacs_per_s, r), energy_cell(r), human_bytes(r.figures.size_bytes),
                      backend_cell(r))
    out = console()
    table.print(out, wide=wide)
    phone = done and done[0].extra["device"].get("soc")
    out.print("est. = estimated by a cost model, not measured; ±N% = its cross-validated error on published "
              "figures for this target family and model kind (docs/estimates.md); measure with "
              + ("--serial (docs/android.md)" if phone else "--host"), style="dim")
    print_energy_notes(results)
    print_failures(results)
    for r in results:
        for warning in r.warnings:
            out.print(f"{r.model} {r.quant}: {warning}", markup=False)
