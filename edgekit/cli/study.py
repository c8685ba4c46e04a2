"""``edgekit study``: the deployment-cost study in one command (edgekit.study collects and writes it)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import ProgressBar, err_console, interrupt_says, warn
from edgekit.cli._options import Db
from edgekit.errors import EdgekitError

_MODELS = ("Comma-separated zoo models, .keras/.h5 files, SavedModel folders and .tflite files, mixed (default "
           "lenet5,alexnet,vgg16,resnet50,googlenet,mobilenet,mobilenetv2; with --quick "
           "lenet5,vgg16,resnet50,mobilenet,mobilenetv2). A Keras model is converted per --quant, with options after "
           "colons: my.keras:preprocess=raw:calibration=photos; a .tflite file is measured as it is.")


def study(*, out: Annotated[Path, typer.Option("--out", help="Folder for results.json/.csv, report.md/.html and plots.",
                                            show_default=False)],
          models: Annotated[str | None, typer.Option("--models", help=_MODELS)] = None,
          quant: Annotated[str | None, typer.Option("--quant", help="Quantization modes (default fp32,fp16,int8; "
                                                    "with --quick fp32,int8).")] = None,
          targets: Annotated[str | None, typer.Option("--targets", help="Targets (default cpu,rpi4,coral-usb); "
                                                      "device targets are estimated unless --host (a board) "
                                                      "or --serial (a phone) names them.")] = None,
          host: Annotated[list[str] | None, typer.Option("--host", help="TARGET=HOST: measure TARGET over ssh on "
                                                         "HOST ([user@]host); repeatable.")] = None,
          serial: Annotated[list[str] | None, typer.Option("--serial", help="TARGET=SERIAL: measure phone "
                                                           "TARGET (android, pixel4, a TOML phone) over adb on the "
                                                           "phone SERIAL from `adb devices`; repeatable.")] = None,
          benchmark_binary: Annotated[Path | None, typer.Option("--benchmark-binary", help="LiteRT's "
                                                                "android_arm64 benchmark_model, for --serial.")]
          = None,
          data: Annotated[str | None, typer.Option("--data", help="digits or a folder of class subfolders: train "
                                                   "small-input variants and measure their accuracy.")] = None,
          threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (default: 1 on this "
                                                      "machine's CPU, as edgekit bench; a device's cores).")] = None,
          quick: Annotated[bool, typer.Option("--quick", help="Fewer rounds (6, same protocol), runs, calibration "
                                              "samples and epochs; for a first look.")] = False,
          force: Annotated[bool, typer.Option("--force", help="Replace an earlier study in --out (never other "
                                              "files), and convert models the memory guard would skip.")] = False,
          cluster: Annotated[str | None, typer.Option("--cluster", envvar="RAY_ADDRESS", show_envvar=False,
                                                      help="HOST:PORT of a Ray cluster's head (also $RAY_ADDRESS): "
                                                      "convert on its nodes and measure device targets on its "
                                                      "lab's devices (docs/cluster.md).")] = None,
          db: Db = None) -> None:
    """Params, MACs, size, latency, memory and accuracy of each model x quant x target, with report and plots."""
    from bench.store import ResultStore
    from edgekit.study.plan import make_plan

    plan = make_plan(models=models, quants=quant, targets=targets, hosts=host, data=data, threads=threads,
                     quick=quick, out=out, force=force, db=db, serials=serial, benchmark_binary=benchmark_binary)
    for line in plan.warnings():
        warn(line)
    lab = None if cluster is None else _connect(cluster)
    plan = plan if lab is None else _on_cluster(plan, lab)
    store = ResultStore(db)
    _check_plot_extra()
    from edgekit.study.cells import expected_seconds
    from edgekit.study.forecast import STUDY_FIXED_S, busy_factor

    started = time.perf_counter()
    plan = _memory_guard(plan, lab)
    eta, done = expected_seconds(plan, store)
    busy = busy_factor() if eta > 2 * STUDY_FIXED_S else 1.0
    loaded = STUDY_FIXED_S + (eta - STUDY_FIXED_S) * busy
    load = (f"; about {_duration(loaded)} if the machine stays as busy as now: other processes leave this one "
            f"1/{busy:.1f} of a core") if busy >= 1.2 else ""
    cells = plan.cells()
    err_console.print(f"study: {len(cells)} rows ({len(plan.models)} models x {len(plan.quants)} quant x "
                      f"{len(plan.targets)} targets{' x 2 variants' if plan.data else ''}); "
                      f"{done['conversions']} conversions and {done['measurements']} measurements already done; "
                      f"forecast: {_duration(eta)} (idle rates of a 2-core x86 machine, refined by this machine's "
                      f"cached conversions{load})", markup=False, soft_wrap=True)
    collected = _collect(plan, store, cells, lab)
    _write(plan, collected, time.perf_counter() - started, eta, loaded if busy >= 1.2 else None)
    unsaved = collected.recovery.error() if collected.recovery is not None else None
    failed = [r for r in collected.rows if r.result.failed]
    if failed:  # the rest is measured and reported; the run still says what failed, as edgekit bench does
        named = "; ".join(f"{r.model} {r.quant} on {r.target}: {r.result.failure.error.rstrip('.')}" for r in failed)
        failure = EdgekitError(f"{len(failed)} of {len(collected.rows)} configuration(s) failed (the report has "
                               f"the others and these errors): {named}")
        if unsaved is None:
            raise failure
        warn(str(failure))
    if unsaved is not None:  # the report has every result; the database lacks these
        raise unsaved


def _connect(address: str):
    from edgekit.app.cluster import connect
    from edgekit.study.plan import models_dir

    return connect(address, log_dir=models_dir())


def _on_cluster(plan, lab):
    from edgekit.errors import UsageError
    from edgekit.study.cluster import plan_for

    if plan.user:
        raise UsageError(f"--cluster studies zoo models; {', '.join(m.source for m in plan.user)} would have to be "
                         "copied to the cluster's nodes: study them without --cluster")

    return plan_for(plan, lab)


def _memory_guard(plan, lab=None):
    """Models expected to need more memory to convert than is available (on a cluster: on its largest conversion
    node): one line each, then skipped (their rows in the report say why) or, with --force, converted anyway."""
    from dataclasses import replace

    from edgekit.study.cells import tflite_path
    from edgekit.study.memory_guard import memory_skips

    def converted(model: str, quant: str) -> bool:
        return tflite_path(plan, "zoo", model, quant).is_file()

    if lab is None:
        skips = memory_skips(plan, converted)
    else:
        from edgekit.study.cluster import memory_skips as cluster_skips

        skips = cluster_skips(plan, lab, converted)
    for model, line in skips.items():
        then = "converting it anyway (--force)" if plan.force else f"skipping {model} (--force converts it anyway)"
        err_console.print(f"study: {line}; {then}", markup=False, soft_wrap=True)
    if not skips or plan.force:
        return plan
    models = tuple(m for m in plan.models if m not in skips)
    if not models:
        raise EdgekitError("every model is expected to need more memory to convert than is available (lines "
                           "above); free some memory, choose smaller --models, or pass --force")
    return replace(plan, models=models, skipped=tuple(skips.items()))


def _collect(plan, store, cells, lab=None):
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

        if lab is None:
            return collect(plan, store, advance, bar.say, heavy)
        from edgekit.app.cluster import disconnect
        from edgekit.study.cluster import convert_all, measurer

        def converting(n: int, total: int, out: list[str]) -> None:
            bar.update(len(done), len(cells), f"conversions {n} of {total} done; running: {', '.join(out) or '-'}")

        def measuring(_n: int, _total: int, line: str) -> None:
            bar.update(len(done), len(cells), line)

        try:
            conversions = convert_all(plan, lab, bar.say, converting)
            collected = collect(plan, store, lambda cell, what: done.append(what), bar.say, heavy,
                                measurer=measurer(lab, bar.say, measuring))
            collected.cluster = {"address": lab.address, "conversions": conversions,
                                 "nodes": {n.node_id: {"ip": n.ip, "memory": n.memory, "converts": n.converts}
                                           for n in lab.nodes}}
            return collected
        finally:
            disconnect()


def _write(plan, collected, seconds: float, eta: float, loaded: float | None = None) -> None:
    from edgekit.study import report
    from edgekit.study.facts import layer_breakdown
    from edgekit.study.plan import models_dir
    from edgekit.study.summary import document

    layers = {}  # the models of this study, each from its converted file (fp32 when studied)
    for m in plan.models:
        conv = next((collected.conversions[k] for k in (("zoo", m, "fp32"), *(("zoo", m, q) for q in plan.quants_of(m)))
                     if k in collected.conversions), None)
        if conv is not None or plan.user_model(m) is None:
            layers[m] = layer_breakdown(m, conv.path if conv else None, models_dir())
    doc = document(plan, collected, layers, round(seconds, 1))
    if collected.cluster is not None:  # where each conversion ran, and what it asked for (docs/cluster.md)
        doc["cluster"] = collected.cluster
    report.write(plan.out, doc, plan.force)
    yours = [line for line in doc["conclusion"] if any(line.startswith(f"On {t}, {m.name} ") for m in plan.user
                                                         for t in plan.targets)]
    for line in doc["conclusion"][:len(plan.targets)] + yours:
        typer.echo(line)
    busy = "" if loaded is None else (f"; {_duration(loaded)} at the starting load, actual "
                                      f"{100 * (seconds / loaded - 1):+.0f}%")
    err_console.print(f"study done in {_duration(seconds)} (forecast {_duration(eta)}, actual "
                      f"{100 * (seconds / eta - 1):+.0f}%{busy}): {collected.new_measurements} measured now, "
                      f"{collected.reused_measurements} reused from the results database, {collected.estimates} "
                      f"estimated; wrote {plan.out}/report.md, report.html, results.json, results.csv",
                      markup=False, soft_wrap=True)


def _check_plot_extra() -> None:
    from edgekit.errors import require_extra

    require_extra("matplotlib", needed_for="edgekit study (its plots)")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


def register(app: typer.Typer) -> None:
    app.command()(study)
