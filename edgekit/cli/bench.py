"""``edgekit bench`` and ``edgekit results``: measure latency and memory, and keep the history.

Thin: the options become one :class:`edgekit.app.bench.BenchRequest`, :func:`edgekit.app.bench.run_bench` does
the work, and this module renders what comes back (``--json`` and ``--csv``: the results' documents). Over 250
lines as one job: the two commands' options and their rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.app.bench_request import BenchRequest, LoopArgs, RemoteArgs
from edgekit.cli._common import ProgressBar, emit_json, err_console, interrupt_says, warn
from edgekit.cli._options import (
    Csv,
    Db,
    Identity,
    InsecureNoHostKeyCheck,
    Json,
    PanelCommand,
    Port,
    RemotePython,
    SshConfig,
    Wide,
)
from edgekit.errors import EdgekitError
from edgekit.result import Result

_MODEL_HELP = "A .tflite file, or a zoo model name (converted per --quant through the converter cache)."
LOOP, DEVICES = "How each config is timed", "Devices (ssh)"


def bench(models: Annotated[list[str], typer.Argument(help=_MODEL_HELP, show_default=False)], *,
          target: Annotated[str, typer.Option("--target", help="cpu (this machine), gpu (its GPU), a device "
                                              "target (rpi4, rpi5, coral-usb, ...: estimated), auto (--host as "
                                              "what it is), or cortex-m4/m7.")] = "cpu",
          quant: Annotated[str | None, typer.Option("--quant", help="Modes for zoo models, e.g. fp32,int8.")] = None,
          threads: Annotated[str | None, typer.Option("--threads", help="CPU threads, e.g. 1,2,4 (default 1).")] = None,
          rounds: Annotated[int, typer.Option("--rounds", help="Rounds per config, each in a fresh process, "
                                              "interleaved across configs (6 or more give a 95% interval).",
                                              rich_help_panel=LOOP)] = 6,
          budget: Annotated[float, typer.Option("--budget", help="Seconds the whole run may take re-measuring "
                                                "noisy configs (more rounds) before marking them noisy.",
                                                rich_help_panel=LOOP)] = 60.0,
          runs: Annotated[int, typer.Option("--runs", help="At least this many timed runs per round.",
                                            rich_help_panel=LOOP)] = 20,
          min_seconds: Annotated[float, typer.Option("--min-seconds", help="And at least this long.",
                                                     rich_help_panel=LOOP)] = 0.5,
          warmup: Annotated[int, typer.Option("--warmup", help="Untimed runs first, at least (warmup goes on until "
                                              "the latency settles).", rich_help_panel=LOOP)] = 1,
          no_xnnpack: Annotated[bool, typer.Option("--no-xnnpack", help="Builtin kernels, no XNNPACK.",
                                                   rich_help_panel=LOOP)] = False,
          profile_ops: Annotated[bool, typer.Option("--profile-ops", help="Per-op times beside MACs.",
                                                    rich_help_panel=LOOP)] = False,
          estimate: Annotated[bool, typer.Option("--estimate", help="Estimate with the cost model instead of "
                                                 "measuring (device targets without --host always are).")] = False,
          host: Annotated[list[str] | None, typer.Option("--host", help="Measure on this device over ssh "
                                                         "([user@]host; repeat for a fleet).",
                                                         rich_help_panel=DEVICES)] = None,
          hosts: Annotated[Path | None, typer.Option("--hosts", help="A file of hosts, one per line.",
                                                     rich_help_panel=DEVICES)] = None,
          timeout: Annotated[float, typer.Option("--timeout", help="Seconds each remote run may take.",
                                                 rich_help_panel=DEVICES)] = 600,
          check_outputs: Annotated[bool, typer.Option("--check-outputs", help="Also compare the device's outputs "
                                                      "on a fixed input with this machine's.",
                                                      rich_help_panel=DEVICES)] = False,
          port: Port = None, identity: Identity = None, ssh_config: SshConfig = None,
          insecure_no_host_key_check: InsecureNoHostKeyCheck = False, remote_python: RemotePython = "python3",
          serial: Annotated[list[str] | None, typer.Option(
              "--serial", help="Measure on this phone over adb (a serial from `adb devices`; repeat for a fleet, or "
              "'all'); with --target android or a phone target (docs/android.md).", rich_help_panel=DEVICES)] = None,
          benchmark_binary: Annotated[Path | None, typer.Option(
              "--benchmark-binary", help="LiteRT's android_arm64 benchmark_model to push to the phone.",
              rich_help_panel=DEVICES)] = None,
          delegate: Annotated[str, typer.Option("--delegate", help="On a phone (--serial): cpu (XNNPACK) or gpu "
                                                "(benchmark_model --use_gpu=true, where the binary supports it).",
                                                rich_help_panel=DEVICES)] = "cpu",
          cluster: Annotated[str | None, typer.Option(
              "--cluster", envvar="RAY_ADDRESS", show_envvar=False, help="HOST:PORT of a Ray cluster's head (also "
              "$RAY_ADDRESS): measure on every device of --target in its lab (docs/cluster.md).",
              rich_help_panel=DEVICES)] = None,
          json: Json = False, wide: Wide = False, csv: Csv = None,
          force: Annotated[bool, typer.Option("--force", help="Replace an existing --csv file.")] = False,
          db: Db = None) -> None:
    """Latency, memory and throughput of models on this machine or a device, each config in a fresh process.

    A model that cannot be loaded, run or analysed gets a row with its error; the others are measured, printed and
    saved, and the run ends with one line naming what failed (exit 1). Results the database cannot take are
    printed and written all the same, kept in a recovery file beside it, and named in that line.
    """
    from edgekit.app.bench import run_bench

    if csv is not None:
        from bench.export import check_csv

        check_csv(csv, force)  # before anything is measured

    request = BenchRequest(
        models=tuple(models), target=target, quant=quant, threads=threads, estimate=estimate, db=db,
        loop=LoopArgs(rounds=rounds, budget=budget, runs=runs, min_seconds=min_seconds, warmup=warmup,
                      xnnpack=not no_xnnpack, profile_ops=profile_ops),
        remote=RemoteArgs(hosts=tuple(host or ()), hosts_file=hosts, port=port, identity=identity,
                          ssh_config=ssh_config, insecure_no_host_key_check=insecure_no_host_key_check,
                          remote_python=remote_python, timeout=timeout, check_outputs=check_outputs,
                          serials=tuple(serial or ()), benchmark_binary=benchmark_binary,
                          delegate=delegate.lower()), cluster=cluster)
    kept: list[Result] = []

    def said() -> str:
        from bench.store import DEFAULT_DB

        where = (db or DEFAULT_DB).expanduser()
        unsaved = sum(r.extra.get("id") is None for r in kept)
        aside = f", {unsaved} in a recovery file beside it ('*.unsaved-*.json')" if unsaved else ""
        return (f"interrupted; {len(kept) - unsaved} result(s) kept in {str(where)!r}{aside} (a config cut short "
                "keeps the rounds it had finished, marked so): see 'edgekit results'")

    with ProgressBar("benchmarking") as bar, interrupt_says(said):
        outcome = run_bench(request, progress=lambda what, i, n: bar.update(i, n, what),
                            on_remote_result=_print_remote_result, on_stored=kept.append, say=bar.say)
    errors = [_render(outcome, json, profile_ops, wide)]
    if csv is not None and outcome.results:
        errors.append(_write_csv(csv, outcome.results, force))
    if outcome.recovery is not None:
        errors.insert(0, outcome.recovery.error())  # results at risk: the line the run ends with
    errors = [e for e in errors if e is not None]
    for later in errors[1:]:
        warn(str(later))
    if errors:
        raise errors[0]


def _render(outcome, json: bool, profile_ops: bool, wide: bool) -> EdgekitError | None:
    """Print what was measured and where it was saved; returns the error the run ends with (what failed)."""
    from edgekit.app.bench import failures_error, noisy_warnings

    if outcome.how == "remote":
        from edgekit.cli.bench_remote import render_remote

        try:
            render_remote(outcome, json, wide=wide)
        except EdgekitError as err:
            return err
        return None
    if json:
        emit_json([r.to_dict() for r in outcome.results])
    elif outcome.how == "mcu":
        from edgekit.cli.mcu_report import print_mcu

        print_mcu(outcome.results, wide=wide)
    elif outcome.how == "estimated":
        from edgekit.cli.estimate_report import print_estimates

        print_estimates(outcome.results, wide=wide)
    else:
        from edgekit.cli.bench_report import print_ops, print_table

        print_table(outcome.results, wide=wide)
        if profile_ops:
            print_ops(outcome.results, wide=wide)
        if outcome.how == "measured":
            _why_int8_slower(outcome.results)
    if outcome.how == "measured":
        for line in noisy_warnings(outcome.results):
            warn(line)
        saved, total = sum(r.extra.get("id") is not None for r in outcome.results), len(outcome.results)
        if saved:
            err_console.print(f"saved {saved if saved == total else f'{saved} of {total}'} result(s) to "
                              f"{outcome.store_path} as run {outcome.run_id}", markup=False, soft_wrap=True)
    return failures_error(outcome.results)


def _write_csv(path: Path, results: list[Result], force: bool) -> EdgekitError | None:
    from bench.export import write_csv

    try:
        write_csv(path, results, force)
    except EdgekitError as err:
        return err
    return None


def _print_remote_result(host: str, r: Result) -> None:
    from edgekit.cli.bench_report import interval_text, p50_text

    err_console.print(f"{host}: {r.model} {r.quant} threads={r.threads}: p50 {p50_text(r)} ms "
                      f"(95% {interval_text(r)}, {r.rounds.rounds} rounds)", markup=False, soft_wrap=True)


results_app = typer.Typer(help="The stored benchmark history.", no_args_is_help=False)


@results_app.callback(invoke_without_command=True)
def results(ctx: typer.Context, *,
            last: Annotated[int, typer.Option("--last", min=1, max=2**63 - 1, help="How many results to show.")] = 20,
            model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
            json: Json = False, wide: Wide = False, db: Db = None) -> None:
    """List stored benchmark results (newest last); 'edgekit results compare A B' compares two runs."""
    if ctx.invoked_subcommand is not None:
        return
    from bench.store import ResultStore

    store = ResultStore(db, readonly=True)  # never creates, converts or adds to the file
    try:
        rows = store.last(last, model)  # a --last past SQLite's 64-bit integers is every result
    finally:
        store.close()
    if json:
        emit_json([r.to_dict() for r in rows])
        return
    from edgekit.cli.bench_report import print_history

    print_history(rows, wide=wide)


@results_app.command()
def compare(a: Annotated[str, typer.Argument(help="A run id (or prefix) or result id.")],
            b: Annotated[str, typer.Argument(help="The run or result to compare with A.")], *,
            json: Json = False, wide: Wide = False, db: Db = None) -> None:
    """p50 latency of B over A, config by config (model, quant, target, threads, XNNPACK)."""
    from bench.store import ResultStore
    from edgekit.cli.bench_report import compare_rows, print_compare

    store = ResultStore(db, readonly=True)
    try:
        picked = store.select(a), store.select(b)
        rows = compare_rows(*picked)
    finally:
        store.close()
    if json:
        emit_json(rows)
    else:
        print_compare(rows, a, b, wide=wide)
        _why_int8_slower([*picked[0], *picked[1]])


def _why_int8_slower(results: list[Result]) -> None:
    """Where int8 was measured slower than fp32 for one model, why (``bench.int8_why``)."""
    from bench.int8_why import explain_all
    from edgekit.cli._common import console

    for line in explain_all([r for r in results if not r.failed]):
        console().print(line, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(cls=PanelCommand)(bench)
    app.add_typer(results_app, name="results")

