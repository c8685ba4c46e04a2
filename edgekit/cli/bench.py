"""``edgekit bench`` and ``edgekit results``: measure latency and memory, and keep the history."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import emit_json, err_console
from edgekit.errors import UsageError

_MODEL_HELP = "A .tflite file, or a zoo model name (converted per --quant through the converter cache)."
Db = Annotated[Path | None, typer.Option("--db", help="Results database (default ~/.edgekit/results.db).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]


def _threads(text: str | None, target: str) -> list[int | None]:
    from edgekit.app.sources import parse_list

    if target == "gpu":
        if text is not None:
            raise UsageError("--threads does not apply to --target gpu (the GPU accelerator sets its own); drop it")
        return [None]
    values = parse_list(text or "1", "--threads", lambda s: int(s))
    if any(v < 1 for v in values):
        raise UsageError(f"--threads must be whole numbers >= 1, got {text!r}")
    return values


def _configs(sources, threads, target, args) -> list:
    from bench.runner import Config

    return [Config(str(s.path), s.model, s.quant, target, t, **args) for s in sources for t in threads]


def _measure(configs, store, run_id: str, profile: bool) -> list[dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bench.result import build_result
    from bench.runner import run_child
    from edgekit.analysis.tflite_cost import analyze_graph
    from edgekit.analysis.tflite_graph import read_tflite

    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("benchmarking", total=len(configs))
        for cfg in configs:
            bar.update(task, description=f"{cfg.model} {cfg.quant} {cfg.target} threads={cfg.threads}")
            graph = read_tflite(cfg.path)
            cost = analyze_graph(graph, cfg.model)
            measured = run_child(cfg)
            doc = build_result(cfg, measured, graph, cost.macs)
            if profile and "ops" in measured:
                doc["ops"] = _op_rows(measured, cost)
                doc["delegate_nodes"] = measured.get("delegate_nodes", 0)
                doc["ops_method"] = measured.get("ops_method")
            doc["id"] = store.add(run_id, doc)
            doc["run_id"] = run_id
            results.append(doc)
            bar.advance(task)
    return results


def _op_rows(measured: dict, cost) -> list[dict]:
    rows = []
    for row, layer in zip(measured["ops"], cost.layers, strict=False):
        rows.append({"index": row["index"], "op": layer.type, "name": layer.name, "ms": row["ms"],
                     "macs": layer.macs, **({"error": row["error"]} if "error" in row else {})})
    return rows


def _gpu_baseline(results: list[dict], args: dict) -> None:
    """Add the Keras-on-CUDA figure to zoo-model results when TensorFlow sees a GPU."""
    from converters.tf_gpu import tf_gpu_devices
    from edgekit.app.gpu_baseline import keras_gpu_baseline
    from edgekit.models.registry import MODEL_NAMES

    devices, why = tf_gpu_devices()
    for doc in results:
        if doc["model"] not in MODEL_NAMES:
            doc["baseline"] = {"skipped": "a .tflite file has no Keras model to compare with"}
        elif not devices:
            doc["baseline"] = {"skipped": why}
        else:
            doc["baseline"] = keras_gpu_baseline(doc["model"], runs=args["runs"], warmup=args["warmup"],
                                                 min_seconds=args["min_seconds"])


def bench(models: Annotated[list[str], typer.Argument(help=_MODEL_HELP, show_default=False)],
          target: Annotated[str, typer.Option("--target", help="cpu (this machine), gpu (its GPU), or a device "
                                              "target (rpi4, rpi5, coral-usb, ...: estimated).")] = "cpu",
          quant: Annotated[str | None, typer.Option("--quant", help="Modes for zoo models, e.g. fp32,int8.")] = None,
          threads: Annotated[str | None, typer.Option("--threads", help="CPU threads, e.g. 1,2,4 (default 1).")] = None,
          runs: Annotated[int, typer.Option("--runs", help="At least this many timed runs.")] = 50,
          min_seconds: Annotated[float, typer.Option("--min-seconds", help="And at least this long.")] = 1.0,
          warmup: Annotated[int, typer.Option("--warmup", help="Untimed runs first.")] = 1,
          no_xnnpack: Annotated[bool, typer.Option("--no-xnnpack", help="Builtin kernels, no XNNPACK.")] = False,
          profile_ops: Annotated[bool, typer.Option("--profile-ops", help="Per-op times beside MACs.")] = False,
          json: Json = False,
          csv: Annotated[Path | None, typer.Option("--csv", help="Also write the results as CSV.")] = None,
          db: Db = None,
          estimate: Annotated[bool, typer.Option("--estimate", help="Estimate with the cost model instead of "
                                                 "measuring (device targets without --host always are).")] = False,
          host: Annotated[list[str] | None, typer.Option("--host", help="Measure on this device over ssh "
                                                         "([user@]host; repeat for a fleet).")] = None,
          hosts: Annotated[Path | None, typer.Option("--hosts", help="A file of hosts, one per line.")] = None,
          port: Annotated[int | None, typer.Option("--port", help="ssh port (default: ssh config, 22).")] = None,
          identity: Annotated[Path | None, typer.Option("--identity", help="ssh private key file.")] = None,
          remote_python: Annotated[str, typer.Option("--remote-python", help="Python on the device, with numpy "
                                                     "and ai-edge-litert or tflite-runtime.")] = "python3",
          timeout: Annotated[float, typer.Option("--timeout", help="Seconds each remote run may take.")] = 600,
          ssh_config: Annotated[Path | None, typer.Option("--ssh-config", help="ssh config file (ssh -F; default "
                                                          "$EDGEKIT_SSH_CONFIG, else ~/.ssh/config).")] = None,
          insecure_no_host_key_check: Annotated[bool, typer.Option(
              "--insecure-no-host-key-check", help="Do not check the device's host key (unsafe).")] = False) -> None:
    """Latency, memory and throughput of models on this machine or a device, each config in a fresh process."""
    from bench.gpu import NoGpuError
    from bench.store import ResultStore
    from edgekit.app.sources import parse_list, resolve
    from edgekit.cli.bench_remote import RemoteArgs, remote_args_given
    from targets.local import local_target
    from targets.registry import Reach, get_target

    chosen = get_target(target)
    remote = RemoteArgs(host or [], hosts, port, identity, ssh_config, insecure_no_host_key_check, remote_python,
                        timeout)
    if remote.hosts or remote.hosts_file:
        from edgekit.cli.bench_remote import bench_on_devices

        if estimate or profile_ops:
            raise UsageError("--estimate and --profile-ops do not apply with --host; drop them")
        bench_on_devices(models, quant, threads, chosen, remote, {"runs": runs, "min_seconds": min_seconds,
                         "warmup": warmup, "xnnpack": not no_xnnpack}, json, csv, db)
        return
    remote_args_given(remote)
    if estimate or chosen.reach is not Reach.LOCAL:  # without --host a device target is estimated
        _estimate(models, quant, threads, chosen, json, csv)
        return
    tgt = local_target(target).name.value
    if runs < 1 or warmup < 0 or min_seconds < 0:
        raise UsageError(f"--runs must be >= 1, --warmup >= 0 and --min-seconds >= 0; got {runs}, {warmup}, "
                         f"{min_seconds}")
    thread_list = _threads(threads, tgt)
    if tgt == "gpu" and (no_xnnpack or profile_ops):
        raise UsageError("--no-xnnpack and --profile-ops apply to --target cpu only")
    store = ResultStore(db)  # fail on an unwritable --db before measuring anything
    sources = resolve(models, parse_list(quant, "--quant", str.lower))
    args = {"runs": runs, "min_seconds": min_seconds, "warmup": warmup, "xnnpack": not no_xnnpack,
            "profile_ops": profile_ops}
    try:
        results = _measure(_configs(sources, thread_list, tgt, args), store, uuid.uuid4().hex[:12], profile_ops)
    except NoGpuError as err:
        from edgekit.app.gpu_baseline import no_gpu_message

        raise NoGpuError(no_gpu_message(str(err))) from None
    if tgt == "gpu":
        _gpu_baseline(results, args)
    from edgekit.cli.bench_report import print_ops, print_table

    def show() -> None:
        print_table(results)
        if profile_ops:
            print_ops(results)

    _emit(results, csv, json, show)
    _warn(results)
    err_console.print(f"saved {len(results)} result(s) to {store.path} as run {results[0]['run_id']}",
                      markup=False, soft_wrap=True)


def _estimate(models: list[str], quant: str | None, threads: str | None, target, json: bool,
              csv: Path | None) -> None:
    from edgekit.app.sources import parse_list, resolve
    from edgekit.cli.estimate_report import print_estimates, run_estimates

    thread_list = [None] if threads is None else _threads(threads, "cpu")
    results = run_estimates(resolve(models, parse_list(quant, "--quant", str.lower)), target, thread_list)
    _emit(results, csv, json, lambda: print_estimates(results))


def _emit(results: list[dict], csv: Path | None, json: bool, show) -> None:
    """Results to --csv if asked, then one JSON document or the tables ``show`` prints."""
    if csv is not None:
        _write_csv(csv, results)
    if json:
        emit_json(results)
    else:
        show()


def _warn(results: list[dict]) -> None:
    from bench.stats import HIGH_CV

    noisy = [f"{r['model']} {r['quant']} threads={r['threads']} (CV {r['cv']:.0%})" for r in results
             if r["cv"] > HIGH_CV]
    lines = [f"high variation (CV > {HIGH_CV:.0%}), the machine was busy; close other work or raise "
             f"--min-seconds: {', '.join(noisy)}"] if noisy else []
    lines += dict.fromkeys(w for r in results for w in r["warnings"] if w.startswith("CPU governor"))
    for line in lines:
        err_console.print(f"edgekit: warning: {line}", markup=False, soft_wrap=True)


def _write_csv(path: Path, results: list[dict]) -> None:
    import csv as _csv

    keys = ["id", "run_id", "target", "model", "quant", "threads", "xnnpack", "runs", "init_ms", "first_ms",
            "throughput_ips", "peak_rss_mb", "rss_increase_mb", "size_bytes", "macs", "gmacs_per_s", "cv",
            "backend", "backend_version", "time_utc", "commit"]
    lat = ["min", "mean", "std", "p50", "p90", "p99"]
    try:
        with path.open("w", newline="") as f:
            w = _csv.writer(f)
            w.writerow(keys + [f"{k}_ms" for k in lat])
            for r in results:
                w.writerow([r.get(k) for k in keys] + [r["latency_ms"][k] for k in lat])
    except OSError as err:
        raise UsageError(f"cannot write --csv {str(path)!r}: {err.strerror}") from None


results_app = typer.Typer(help="The stored benchmark history.", no_args_is_help=False)


@results_app.callback(invoke_without_command=True)
def results(ctx: typer.Context,
            last: Annotated[int, typer.Option("--last", min=1, help="How many results to show.")] = 20,
            model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
            json: Json = False, db: Db = None) -> None:
    """List stored benchmark results (newest last); 'edgekit results compare A B' compares two runs."""
    if ctx.invoked_subcommand is not None:
        return
    from bench.store import ResultStore

    rows = ResultStore(db).last(last, model)
    if json:
        emit_json(rows)
        return
    from edgekit.cli.bench_report import print_history

    print_history(rows)


@results_app.command()
def compare(a: Annotated[str, typer.Argument(help="A run id (or prefix) or result id.")],
            b: Annotated[str, typer.Argument(help="The run or result to compare with A.")],
            json: Json = False, db: Db = None) -> None:
    """p50 latency of B over A, config by config (model, quant, target, threads, XNNPACK)."""
    from bench.store import ResultStore
    from edgekit.cli.bench_report import compare_rows, print_compare

    store = ResultStore(db)
    rows = compare_rows(store.select(a), store.select(b))
    if json:
        emit_json(rows)
    else:
        print_compare(rows, a, b)


def register(app: typer.Typer) -> None:
    app.command()(bench)
    app.add_typer(results_app, name="results")

