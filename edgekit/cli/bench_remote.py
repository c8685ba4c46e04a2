"""``edgekit bench --host``: measure on devices over ssh, one or a fleet, and keep the results like local ones.

One host prints the same JSON list a local run does. Several print ``{"results", "aggregate", "failures"}``:
each device, then the median across devices per configuration. A host that fails costs only its own results.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from edgekit.cli._common import console, emit_json, err_console
from edgekit.errors import EdgekitError, UsageError


@dataclass(frozen=True)
class RemoteArgs:
    hosts: list[str]
    hosts_file: Path | None
    port: int | None
    identity: Path | None
    ssh_config: Path | None
    insecure_no_host_key_check: bool
    remote_python: str
    timeout: float


def remote_args_given(args: RemoteArgs) -> None:
    """Refuse ssh options without --host rather than ignore them."""
    given = [flag for flag, value, default in (
        ("--port", args.port, None), ("--identity", args.identity, None), ("--ssh-config", args.ssh_config, None),
        ("--insecure-no-host-key-check", args.insecure_no_host_key_check, False),
        ("--remote-python", args.remote_python, "python3"), ("--timeout", args.timeout, 600)) if value != default]
    if given:
        raise UsageError(f"{', '.join(given)} apply only with --host or --hosts; add the device to measure on")


def bench_on_devices(models: list[str], quant: str | None, threads: str | None, target, args: RemoteArgs,
                     loop_args: dict, json: bool, csv: Path | None, db: Path | None) -> None:
    """``edgekit bench ... --host``: check everything, then measure on each host."""
    from bench.store import ResultStore
    from edgekit.app.sources import parse_list, resolve
    from edgekit.cli.bench import _configs, _threads, _write_csv
    from targets.registry import Reach

    if target.reach is not Reach.SSH:
        raise UsageError(f"--host measures a device target (rpi4, rpi5, coral-usb, coral-devboard or your own), "
                         f"not {target.key!r}, which is this machine; drop --host")
    if loop_args["runs"] < 1 or loop_args["warmup"] < 0 or loop_args["min_seconds"] < 0:
        raise UsageError(f"--runs must be >= 1, --warmup >= 0 and --min-seconds >= 0; got {loop_args['runs']}, "
                         f"{loop_args['warmup']}, {loop_args['min_seconds']}")
    hosts, opts = _hosts(args), _options(args)  # bad hosts and options fail before any conversion
    thread_list = _threads(threads, "cpu")
    store = ResultStore(db)
    configs = _configs(resolve(models, parse_list(quant, "--quant", str.lower)), thread_list, target.key, loop_args)
    write = None if csv is None else lambda rows: _write_csv(csv, rows)
    bench_remote(hosts, opts, configs, target, args, json, store, write)


def _hosts(args: RemoteArgs) -> list:
    from targets.fleet import read_hosts_file
    from targets.ssh import parse_host

    texts = list(args.hosts) + (read_hosts_file(str(args.hosts_file)) if args.hosts_file else [])
    return [parse_host(t) for t in dict.fromkeys(t.strip() for t in texts)]


def _options(args: RemoteArgs):
    from targets.ssh import SshOptions

    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {args.timeout:g}")
    if not args.remote_python.strip():
        raise UsageError("--remote-python must name a Python on the device, e.g. python3 or ~/venv/bin/python")
    return SshOptions.from_env(port=args.port, identity=str(args.identity) if args.identity else None,
                               config=str(args.ssh_config) if args.ssh_config else None,
                               insecure_no_host_key_check=args.insecure_no_host_key_check)


def _graphs(configs) -> dict:
    from edgekit.analysis.tflite_cost import analyze_graph
    from edgekit.analysis.tflite_graph import read_tflite

    out = {}
    for cfg in configs:
        if cfg.path not in out:
            graph = read_tflite(cfg.path)
            out[cfg.path] = (graph, analyze_graph(graph, cfg.model).macs)
    return out


def measure_fleet(hosts, configs, target, opts, args: RemoteArgs, db_path: Path, run_id: str):
    """Every config on every host, concurrently across hosts; each result is stored as soon as it is fetched."""
    from bench.store import ResultStore
    from targets.fleet import run_fleet
    from targets.remote import measure_host
    from targets.remote_result import remote_config, to_result

    graphs, lock = _graphs(configs), threading.Lock()
    by_remote = {remote_config(c, target.delegate): c for c in configs}
    docs: dict[str, list[dict]] = {h.text: [] for h in hosts}

    def one(host):
        store = ResultStore(db_path)

        def keep(rcfg, measured):
            cfg = by_remote[rcfg]
            doc = to_result(cfg, measured, *graphs[cfg.path], host=host.text)
            doc["id"], doc["run_id"] = store.add(run_id, doc), run_id
            docs[host.text].append(doc)
            with lock:
                err_console.print(f"{host.text}: {cfg.model} {cfg.quant} threads={cfg.threads}: p50 "
                                  f"{doc['latency_ms']['p50']:.3f} ms", markup=False, soft_wrap=True)

        try:
            return measure_host(host, list(by_remote), opts, python=args.remote_python, timeout=args.timeout,
                                on_result=keep)
        finally:
            store.close()

    outcomes = run_fleet(hosts, one)
    return [(o, docs[o.host]) for o in outcomes]


def bench_remote(hosts, opts, configs, target, args: RemoteArgs, json: bool, store, write_csv) -> None:
    """Measure ``configs`` on ``hosts``; print, store, and raise the first failure at the end."""
    run_id = uuid.uuid4().hex[:12]
    pairs = measure_fleet(hosts, configs, target, opts, args, store.path, run_id)
    results = [d for _, docs in pairs for d in docs]
    failures = [o for o, _ in pairs if o.error is not None]
    if write_csv is not None and results:
        write_csv(results)
    if len(hosts) == 1:
        _print_one(results, json)
    else:
        _print_fleet(pairs, results, failures, json)
    if results:
        err_console.print(f"saved {len(results)} result(s) to {store.path} as run {run_id}", markup=False,
                          soft_wrap=True)
    _raise(failures, len(hosts), len(results))


def _print_one(results: list[dict], json: bool) -> None:
    if json:
        emit_json(results)
    elif results:
        _device_table(results)


def _device_table(results: list[dict]) -> None:
    from edgekit.cli.bench_report import print_table

    d = results[0]["device"]
    temp = f", {d['cpu_temp_c']:g} °C" if d.get("cpu_temp_c") is not None else ""
    console().print(f"{results[0]['host']}: {d.get('board') or d['cpu']} ({d['cpu']}, {d['os']}{temp})",
                    markup=False, soft_wrap=True)
    print_table(results)


def _print_fleet(pairs, results: list[dict], failures, json: bool) -> None:
    from targets.fleet import aggregate

    rows = aggregate(results)
    if json:
        emit_json({"results": results, "aggregate": rows,
                   "failures": [{"host": o.host, "phase": getattr(o.error, "phase", None), "error": str(o.error),
                                 "results_kept": len(docs)} for o, docs in pairs if o.error is not None]})
        return
    for _, docs in pairs:
        if docs:
            _device_table(docs)
    if rows:
        _aggregate_table(rows)


def _aggregate_table(rows: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="across devices (p50 latency)")
    for col in ("model", "quant", "threads", "devices", "median ms", "min ms", "max ms", "spread"):
        table.add_column(col, justify="left" if col in ("model", "quant") else "right")
    for r in rows:
        table.add_row(r["model"], r["quant"], str(r["threads"]), str(r["devices"]), f"{r['median_p50_ms']:.3f}",
                      f"{r['min_p50_ms']:.3f}", f"{r['max_p50_ms']:.3f}",
                      "-" if r["spread"] is None else f"{r['spread']:.0%}")
    console().print(table)


def _raise(failures, hosts: int, kept: int) -> None:
    """One host: its error (saying how many results were kept). A fleet: a warning per further failure."""
    if not failures:
        return
    first = failures[0].error
    if hosts == 1:
        if kept:
            raise EdgekitError(f"{first} ({kept} result(s) measured before it are kept)")
        raise first
    for o in failures[1:]:
        err_console.print(f"edgekit: warning: {o.error}", markup=False, soft_wrap=True)
    raise EdgekitError(f"{len(failures)} of {hosts} hosts failed, the others' results are kept; {first}")
