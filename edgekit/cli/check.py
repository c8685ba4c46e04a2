"""``edgekit check``: can a ``.tflite`` model run on the Edge TPU, and how much of it? Or does it fit a
microcontroller (cortex-m4, cortex-m7) in TensorFlow Lite Micro?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import console, emit_json, human_bytes
from edgekit.cli._options import Json, TargetFile, Wide
from edgekit.errors import CheckFailed, UsageError


def _target(name: str, target_file: Path | None):
    from targets.registry import get_target
    from targets.userfile import load_target_file

    target = load_target_file(target_file) if target_file is not None else get_target(name)
    if target.accelerator is None and target.mcu is None:
        raise UsageError(f"edgekit check applies to Edge TPU targets (coral-usb, coral-devboard or a user target "
                         f"with an [accelerator]) and microcontrollers (cortex-m4, cortex-m7); got {target.key!r}")
    return target


def check(model: Annotated[Path, typer.Argument(help="A .tflite file.", show_default=False)], *,
          target: Annotated[str, typer.Option("--target", help="An Edge TPU target, or cortex-m4/cortex-m7.")
                            ] = "coral-usb",
          target_file: TargetFile = None,
          json: Json = False, wide: Wide = False) -> None:
    """Check a .tflite model against the Edge TPU's rules (8-bit, static shapes, ranks, ops, parameter cache),
    or a microcontroller's: TFLite Micro's rules, its measured arena against SRAM, and flash.

    Exits 0 when the model is compatible (or already compiled for the Edge TPU), 1 when it is not (after the
    report), 2 for usage errors: the same rule as 'edgekit targets check'. docs/edgetpu.md has the rules.
    """
    from edgekit.analysis.tflite_graph import read_tflite
    from edgekit.models.ref import ModelKind, ModelRef
    from targets.edgetpu import check_graph

    model = ModelRef.parse(model).require(ModelKind.TFLITE, command="check").path
    tgt = _target(target, target_file)
    if tgt.mcu is not None:
        _check_mcu(model, tgt, json)
        return
    graph = read_tflite(model)
    report = check_graph(graph, tgt.accelerator.param_cache_bytes)
    if json:
        emit_json({"model": str(model), "target": tgt.key, **report.to_dict()})
    else:
        _print(model, tgt, report, wide)
    if not report.compatible:
        first = report.reasons[0] if report.reasons else "see the report above"
        raise CheckFailed(f"{model.name} is not fully compatible with {tgt.key}: {first}")


def _print(model: Path, tgt, report, wide: bool = False) -> None:
    out = console()
    verdict = "[green]compatible[/green]" if report.compatible else "[red]not compatible[/red]"
    if report.compiled_for_edgetpu:
        verdict = "[green]compiled for the Edge TPU[/green]"
    out.print(f"{model.name} on {tgt.key} (Edge TPU): {verdict}; {report.tpu_ops} of {len(report.ops)} ops on "
              f"the TPU; parameters {human_bytes(report.param_bytes_on_tpu)} of "
              f"{human_bytes(report.param_cache_bytes)} on-chip cache")
    for reason in report.reasons:
        out.print(f"  [red]x[/red] {reason}", markup=True, highlight=False)
    for warning in report.warnings:
        out.print(f"  [yellow]![/yellow] {warning}")
    _op_table(out, report, wide)


def _check_mcu(model: Path, tgt, json: bool) -> None:
    from targets.mcu import check_mcu

    report = check_mcu(model, tgt)
    if json:
        emit_json(report.to_dict())
    else:
        _print_mcu(model, tgt, report)
    if not report.fits:
        raise CheckFailed(f"{model.name} does not fit {tgt.key}: {report.reasons[0]}")


def _print_mcu(model: Path, tgt, report) -> None:
    from targets.mcu import kib

    out = console()
    m = report.mcu
    verdict = "[green]fits[/green]" if report.fits else "[red]does not fit[/red]"
    arena = "-" if report.arena is None else f"{kib(report.arena.arena_bytes)} (measured in TFLite Micro)"
    out.print(f"{model.name} on {tgt.key} ({m.board}, {m.mhz:g} MHz): {verdict}; {report.quant}")
    out.print(f"  arena {arena} of {kib(m.arena_budget_bytes)} contiguous SRAM; flash {kib(report.flash_bytes)} "
              f"est. of {kib(m.flash_bytes)}", markup=False, highlight=False)
    for reason in report.reasons:
        out.print(f"  [red]x[/red] {reason}", markup=True, highlight=False)
    for warning in report.warnings:
        out.print(f"  [yellow]![/yellow] {warning}")


def _op_table(out, report, wide: bool) -> None:
    from collections import Counter

    from edgekit.cli._table import FitTable, col

    on, off = Counter(), Counter()
    for v in report.ops:
        (on if v.on_tpu else off)[v.opcode] += 1
    table = FitTable("ops", [col("op", names=True), col("on TPU", 6, right=True), col("on CPU", 5, right=True)])
    for opcode in sorted(on | off):
        table.add_row(opcode, str(on[opcode] or ""), str(off[opcode] or ""))
    table.print(out, wide=wide)


def register(app: typer.Typer) -> None:
    app.command()(check)
