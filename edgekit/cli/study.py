"""``edgekit study``: the deployment-cost study in one command (edgekit.study collects and writes it)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import ProgressBar, err_console, interrupt_says
from edgekit.cli._options import Db
from edgekit.errors import EdgekitError

_MODELS = "Comma-separated zoo models (default lenet5,alexnet,vgg16,resnet50,googlenet,mobilenet,mobilenetv2; " \
          "with --quick lenet5,vgg16,resnet50,mobilenet,mobilenetv2)."


def study(*, out: Annotated[Path, typer.Option("--out", help="Folder for results.json/.csv, report.md/.html and plots.",
                                            show_default=False)],
          models: Annotated[str | None, typer.Option("--models", help=_MODELS)] = None,
          quant: Annotated[str | None, typer.Option("--quant", help="Quantization modes (default fp32,fp16,int8; "
                                                    "with --quick fp32,int8).")] = None,
          targets: Annotated[str | None, typer.Option("--targets", help="Targets (default cpu,rpi4,coral-usb); "
                                                      "device targets are estimated unless --host names them.")] = None,
          host: Annotated[list[str] | None, typer.Option("--host", help="TARGET=HOST: measure TARGET over ssh on "
                                                         "HOST ([user@]host); repeatable.")] = None,
          data: Annotated[str | None, typer.Option("--data", help="digits or a folder of class subfolders: train "
                                                   "small-input variants and measure their accuracy.")] = None,
          threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (default: 1 on this "
                                                      "machine's CPU, as edgekit bench; a device's cores).")] = None,
          quick: Annotated[bool, typer.Option("--quick", help="Fewer rounds (6, same protocol), runs, calibration "
                                              "samples and epochs; for a first look.")] = False,
          force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
          db: Db = None) -> None:
    """Params, MACs, size, latency, memory and accuracy of each model x quant x target, with report and plots."""
    from bench.store import ResultStore
    from edgekit.study.plan import make_plan

    plan = make_plan(models=models, quants=quant, targets=targets, hosts=host, data=data, threads=threads,
                     quick=quick, out=out, force=force, db=db)
    store = ResultStore(db)
    _check_plot_extra()
    from edgekit.study.collect import expected_seconds

    eta, done = expected_seconds(plan, store)
    cells = plan.cells()
    err_console.print(f"study: {len(cells)} rows ({len(plan.models)} models x {len(plan.quants)} quant x "
                      f"{len(plan.targets)} targets{' x 2 variants' if plan.data else ''}); "
                      f"{done['conversions']} conversions and {done['measurements']} measurements already done; "
                      f"expected total time: {_duration(eta)}", markup=False, soft_wrap=True)
    started = time.perf_counter()
    collected = _collect(plan, store, cells)
    _write(plan, collected, time.perf_counter() - started)


def _collect(plan, store, cells):
    from edgekit.study.collect import collect
    from edgekit.study.plan import models_dir
    from edgekit.tf_log import quiet_fds

    done = []
    log = models_dir() / "study.log"

    def kept() -> str:
        return (f"interrupted; {sum(w == 'measured' for w in done)} new measurement(s) and every finished "
                f"conversion are kept in {store.path} and the converter cache: run the same command again to "
                "continue")

    with ProgressBar("study") as bar, interrupt_says(kept):
        bar.update(0, len(cells))

        def advance(cell, what):
            done.append(what)
            bar.update(len(done), len(cells), f"{cell.model} {cell.quant} {cell.target}: {what}")

        @contextlib.contextmanager
        def heavy(what):
            bar.say(f"{what} (TensorFlow's output goes to {log})")
            with bar.paused(), quiet_fds(log):
                yield

        return collect(plan, store, advance, bar.say, heavy)


def _write(plan, collected, seconds: float) -> None:
    from edgekit.study import report
    from edgekit.study.facts import BREAKDOWN_MODELS, layer_breakdown
    from edgekit.study.plan import models_dir
    from edgekit.study.summary import document

    layers = {}
    for m in BREAKDOWN_MODELS:
        conv = next((collected.conversions[k] for k in (("zoo", m, "fp32"), *(("zoo", m, q) for q in plan.quants))
                     if k in collected.conversions), None)
        layers[m] = layer_breakdown(m, conv.path if conv else None, models_dir())
    doc = document(plan, collected, layers, round(seconds, 1))
    report.write(plan.out, doc, plan.force)
    for line in doc["conclusion"][:len(plan.targets)]:
        typer.echo(line)
    err_console.print(f"study done in {_duration(seconds)}: {collected.new_measurements} measured now, "
                      f"{collected.reused_measurements} reused from the results database, {collected.estimates} "
                      f"estimated; wrote {plan.out}/report.md, report.html, results.json, results.csv",
                      markup=False, soft_wrap=True)


def _check_plot_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise EdgekitError("edgekit study draws its plots with matplotlib: pip install 'edgekit[plot]'")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def register(app: typer.Typer) -> None:
    app.command()(study)
