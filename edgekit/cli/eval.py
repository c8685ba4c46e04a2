"""``edgekit eval``: top-1/top-5 and per-class accuracy of .keras and .tflite models, with TTA and ensembles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from edgekit.cli._common import console, emit_json, err_console, human
from edgekit.cli._options import Json


def eval_(
    models: Annotated[list[str], typer.Argument(help="One or more .keras or .tflite files.")], *,
    data: Annotated[str, typer.Option("--data", help="A folder with one subfolder per class, or digits.")],
    split: Annotated[str, typer.Option("--split", help="test: digits' fixed held-out set, or the whole "
                                       "folder; val: the validation subset the model was trained with.")]
    = "test",
    tta: Annotated[str | None, typer.Option("--tta", help="Test-time augmentation: flip, or flip,crop; "
                                            "reports accuracy and cost multiples.")] = None,
    ensemble: Annotated[bool, typer.Option("--ensemble", help="Also average the models' predictions.")] = False,
    json: Json = False,
) -> None:
    """Measure accuracy next to cost: per model, with test-time augmentation, and as an ensemble."""
    from edgekit.data import parse_data
    from edgekit.models.evaluate import evaluate, parse_tta

    results = evaluate(models, parse_data(data), split, parse_tta(tta), ensemble,
                       notify=lambda msg: err_console.print(msg, markup=False, soft_wrap=True))
    if json:
        emit_json([r.to_dict() for r in results])
        return
    _print(results, data, split)


def _print(results, data: str, split: str) -> None:
    out = console()
    table = Table(title=f"accuracy on {data} ({split}, {results[0].samples} samples)")
    for col in ("model", "top-1", "top-5", "MACs", "ms/sample", "timing"):
        table.add_column(col, justify="left" if col in ("model", "timing") else "right")
    for r in results:
        table.add_row(_name(r.model), f"{100 * r.scores.top1:.2f}%", f"{100 * r.scores.top5:.2f}%", human(r.macs),
                      f"{1000 * r.seconds_per_sample:.3f}", r.timing)
    out.print(table)
    tricks = [(r.model, r.tta) for r in results if r.tta] + [(r.model, r.ensemble) for r in results if r.ensemble]
    if tricks:
        cost = Table(title="accuracy gain against inference cost")
        for col in ("what", "top-1", "gain", "MACs", "latency", "relative to"):
            cost.add_column(col, justify="left" if col in ("what", "relative to") else "right")
        for _, m in tricks:
            cost.add_row(m.what, f"{100 * m.scores.top1:.2f}%", f"{m.top1_gain:+.2f} pts", f"{m.macs_multiple:.1f}x",
                         f"{m.latency_multiple:.1f}x", _name(m.relative_to))
        out.print(cost)
    for r in results:
        if len(r.labels) <= 20:
            per = "  ".join(f"{name} {'-' if a is None else f'{100 * a:.0f}%'}"
                            for name, a in zip(r.labels, r.scores.per_class, strict=True))
            out.print(f"per class, {_name(r.model)}: {per}", markup=False, soft_wrap=True)


def _name(model: str) -> str:
    from pathlib import Path

    return Path(model).name


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
