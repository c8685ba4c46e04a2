"""``edgekit info`` and ``edgekit models``: what a network costs."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.cli._common import console, emit_json, human, human_bytes
from edgekit.cli._options import MODEL_PANEL, Alpha, Classes, InputSize, Json, PanelCommand, Wide, whole_number
from edgekit.cli._table import FitTable, col
from edgekit.models.registry import FIGURES, MODEL_NAMES, REGISTRY

_MODEL_HELP = f"A zoo model ({', '.join(MODEL_NAMES)}), a .keras/.h5 file, a SavedModel folder or a .tflite file."

DepthMult = Annotated[int | None, typer.Option("--depth-multiplier", callback=whole_number("--depth-multiplier"),
                                               help="Depthwise multiplier (mobilenet).", rich_help_panel=MODEL_PANEL)]


def info(model: Annotated[str, typer.Argument(help=_MODEL_HELP)], *, input_size: InputSize = None,
         alpha: Alpha = None, classes: Classes = None, depth_multiplier: DepthMult = None,
         layers: Annotated[bool, typer.Option("--layers", help="Show the per-layer table.")] = False,
         json: Json = False, wide: Wide = False) -> None:
    """Parameters, MACs, weight bytes and peak activation memory of a model."""
    from edgekit.app.cost import cost_of

    report = cost_of(model, input_size=input_size, classes=classes, alpha=alpha,
                     depth_multiplier=depth_multiplier)
    if json:
        emit_json(report.to_dict(layers=True))
        return
    out = console()
    summary = FitTable(f"{report.model} ({report.source}), input {'x'.join(map(str, report.input_shape))}",
                       [col("figure", names=True), col("value", right=True, fold=True)], show_header=False)
    trainable = "-" if report.trainable_params is None else f"{report.trainable_params:,}"
    for key, value in (("params", f"{report.params:,}"), ("trainable params", trainable),
                       ("MACs", f"{report.macs:,} ({human(report.macs)})"
                        + (f"; {report.macs_note}" if report.macs_note else "")),
                       ("elementwise ops", f"{report.elementwise_ops:,}"),
                       ("float32 weights", human_bytes(report.weight_bytes)),
                       ("stored weights", human_bytes(report.stored_weight_bytes)),
                       ("file", human_bytes(report.file_bytes)),
                       ("peak activations (est.)", human_bytes(report.activation_peak_bytes))):
        if value != "-":
            summary.add_row(key, value)
    summary.print(out, wide=wide)
    if layers:
        table = FitTable("per layer", [col("layer", names=True), col("type", 4), col("output", 3),
                                       col("params", 2, right=True), col("MACs", 6, right=True),
                                       col("% MACs", 5, right=True)])
        for row in report.layers:
            share = f"{100 * row.macs / report.macs:.1f}" if report.macs and row.macs else ""
            table.add_row(row.name, row.type, "x".join(map(str, row.output_shape)), f"{row.params:,}",
                          "not counted" if row.macs is None else f"{row.macs:,}" if row.macs else "", share)
        table.print(out, wide=wide)
    out.print(f"[dim]peak activations: {report.activation_method}[/dim]")


def zoo_rows() -> list[dict]:
    """Every zoo model at its default input, from the registry's data (no TensorFlow): the README's table."""
    rows = []
    for spec in REGISTRY.values():
        fig = FIGURES[spec.name]
        rows.append({"name": spec.name.value, "title": spec.title, "paper": spec.paper,
                     "default_input": list(spec.default_input), "params": fig.params, "macs": fig.macs,
                     "published_top1_pct": fig.top1_pct, "top1_source": fig.top1_source,
                     "arch_args": [a.name for a in spec.arch_args]})
    return rows


def models(*, json: Json = False,
           markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
           wide: Wide = False) -> None:
    """List the zoo with default input, params, MACs and published ImageNet top-1 (no TensorFlow needed)."""
    rows = zoo_rows()
    if json:
        emit_json(rows)
        return
    if markdown:
        print("| model | architecture | default input | params | MACs |")
        print("|---|---|---|---:|---:|")
        for r in rows:
            print(f"| `{r['name']}` | {r['title']} | {'x'.join(map(str, r['default_input']))} "
                  f"| {r['params']:,} | {r['macs']:,} |")
        return
    table = FitTable("edgekit model zoo", [
        col("model", names=True), col("architecture", 3, fold=True), col("default input", 4),
        col("params", 6, right=True), col("MACs", 7, right=True), col("top-1", 5, right=True),
        col("arch args", 1, fold=True)])
    for r in rows:
        top1 = "-" if r["published_top1_pct"] is None else f"{r['published_top1_pct']:g}"
        table.add_row(r["name"], r["title"], "x".join(map(str, r["default_input"])), human(r["params"]),
                      human(r["macs"]), top1, ", ".join(r["arch_args"]))
    table.print(console(), wide=wide)
    console().print("[dim]params and MACs at the default input (edgekit info NAME counts any input); top-1: "
                    "published ImageNet top-1 (%), not measured; edgekit models --json gives each source[/dim]")


def register(app: typer.Typer) -> None:
    app.command(cls=PanelCommand)(info)
    app.command()(models)
