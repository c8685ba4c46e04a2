"""The table ``edgekit bench --target cortex-m4|cortex-m7`` prints: the board's latency (estimated) beside the
arena TFLite Micro needs (measured here) and flash (estimated)."""

from __future__ import annotations

from edgekit.cli._common import console
from edgekit.cli._table import FitTable, col
from edgekit.result import Result


def _ms(r: Result) -> str:
    p50 = r.p50_ms
    return "-" if p50 is None else f"{p50:.2g} est. ±{r.expected_error_pct}%"


def print_mcu(results: list[Result], *, wide: bool = False) -> None:
    from targets.mcu import kib

    first = results[0]
    device = first.extra["device"]
    table = FitTable(f"edgekit bench for {first.target} ({device['board']}, "
                        f"{device['mhz']:g} MHz): TFLite Micro here, latency estimated", [
        col("model", names=True), col("quant", 9), col("fits", 10), col("p50 ms", 8, right=True),
        col("energy mJ", 4, right=True), col("arena", 7, right=True), col("flash", 6, right=True),
        col("vs LiteRT", 3, right=True)])
    from edgekit.cli.bench_report import energy_cell, print_energy_notes

    for r in results:
        arena = r.fit.ram["arena_bytes"]
        vs = r.extra["outputs_vs_local"]
        diff = "-" if vs is None else (f"{vs['max_diff_steps']} steps" if vs["max_diff_steps"] is not None
                                       else f"{vs['max_abs_diff']:.2g}")
        table.add_row(r.model, r.quant, "yes" if r.fit.fits else "no", _ms(r), energy_cell(r),
                      "-" if arena is None else kib(arena), f"{kib(r.fit.flash['flash_bytes'])} est.", diff)
    out = console()
    table.print(out, wide=wide)
    out.print("arena: measured in TFLite Micro; flash and latency: est. (docs/mcu.md)", style="dim")
    print_energy_notes(results)
    for r in results:
        for line in r.warnings:
            out.print(f"{r.model} {r.quant}: {line}", markup=False)
