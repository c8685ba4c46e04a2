"""``edgekit eval``: top-1/top-5 and per-class accuracy of .keras and .tflite models, with TTA and ensembles."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.cli._common import console, emit_json, err_console, human
from edgekit.cli._options import Json, Wide
from edgekit.cli._table import FitTable, col


def eval_(
    models: Annotated[list[str], typer.Argument(help="One or more .keras or .tflite files.")], *,
    data: Annotated[str, typer.Option("--data", help="A folder with one subfolder per class, or digits.")],
    split: Annotated[str, typer.Option("--split", help="test: digits' fixed held-out set, or the whole "
                                       "folder; val: the validation subset the model was trained with.")]
    = "test",
    tta: Annotated[str | None, typer.Option("--tta", help="Test-time augmentation: flip, or flip,crop; "
                                            "reports accuracy and cost multiples.")] = None,
    ensemble: Annotated[bool, typer.Option("--ensemble", help="Also average the models' predictions.")] = False,
    preprocess: Annotated[str | None, typer.Option("--preprocess", help="How pixels become input for a .keras "
                                                   "model not trained by edgekit (tf, caffe, torch, unit, raw, or "
                                                   "mean=A,std=B); default: read from its own first layer.")]
    = None,
    json: Json = False, wide: Wide = False,
) -> None:
    """Measure accuracy next to cost: per model, with test-time augmentation, and as an ensemble."""
    from edgekit.app.eval_preprocess import user_preprocess
    from edgekit.data import parse_data
    from edgekit.models.evaluate import evaluate, parse_tta

    say = lambda msg: err_console.print(msg, markup=False, soft_wrap=True)  # noqa: E731
    results = evaluate(models, parse_data(data), split, parse_tta(tta), ensemble, notify=say,
                       preprocess=user_preprocess(preprocess, say))
    if json:
        emit_json([r.to_dict() for r in results])
        return
    _print(results, data, split, wide)


def _print(results, data: str, split: str, wide: bool = False) -> None:
    out = console()
    table = FitTable(f"accuracy on {data} ({split}, {results[0].samples} samples)", [
        col("model", names=True), col("top-1", 9, right=True), col("top-5", 6, right=True),
        col("MACs", 5, right=True), col("ms/sample", 4, right=True), col("timing", 2, fold=True)])
    for r in results:
        table.add_row(_name(r.model), f"{100 * r.scores.top1:.2f}%", f"{100 * r.scores.top5:.2f}%", human(r.macs),
                      f"{1000 * r.seconds_per_sample:.3f}", r.timing)
    table.print(out, wide=wide)
    tricks = [(r.model, r.tta) for r in results if r.tta] + [(r.model, r.ensemble) for r in results if r.ensemble]
    if tricks:
        cost = FitTable("accuracy gain against inference cost", [
            col("what", names=True), col("top-1", 9, right=True), col("gain", 8, right=True),
            col("MACs", 5, right=True), col("latency", 6, right=True), col("relative to", 4)])
        for _, m in tricks:
            cost.add_row(m.what, f"{100 * m.scores.top1:.2f}%", f"{m.top1_gain:+.2f} pts", f"{m.macs_multiple:.1f}x",
                         f"{m.latency_multiple:.1f}x", _name(m.relative_to))
        cost.print(out, wide=wide)
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
