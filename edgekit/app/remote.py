"""``edgekit bench --host``: measure on devices over ssh, one or a fleet, and store results like local ones.

A host that fails costs only its own results: the others are measured, stored and returned, and
:meth:`FleetOutcome.raise_failures` says what failed once the caller has shown the rest.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result


@dataclass(frozen=True)
class FleetOutcome:
    """Per host: its outcome (``targets.fleet.HostOutcome``) and the results it produced."""

    pairs: list
    hosts: int

    @property
    def failures(self) -> list:
        return [o for o, _ in self.pairs if o.error is not None]

    def failure_rows(self) -> list[dict]:
        return [{"host": o.host, "phase": getattr(o.error, "phase", None), "error": str(o.error),
                 "results_kept": len(docs)} for o, docs in self.pairs if o.error is not None]

    def raise_failures(self, warn: Callable[[str], None]) -> None:
        """One host: its error (saying how many results were kept). A fleet: a warning per further failure."""
        failures = self.failures
        if not failures:
            return
        kept = sum(len(docs) for _, docs in self.pairs)
        first = failures[0].error
        if self.hosts == 1:
            if kept:
                raise EdgekitError(f"{first} ({kept} result(s) measured before it are kept)")
            raise first
        for o in failures[1:]:
            warn(str(o.error))
        raise EdgekitError(f"{len(failures)} of {self.hosts} hosts failed, the others' results are kept; {first}")


def bench_on_devices(plan, *, on_result: Callable[[str, Result], None] | None = None):
    """Check everything (hosts, options, models), then measure each config on each host."""
    from bench.recovery import Recovery
    from edgekit.app.bench_request import BenchOutcome
    from edgekit.app.sources import raise_unresolved

    args = plan.request.remote
    hosts, opts = _hosts(args), ssh_options(args)  # bad hosts and options fail before any conversion
    db_path = _check_store(plan.request.db)
    raise_unresolved(plan.items)  # every model is checked before any host is reached
    configs = plan.configs(profile=False)
    run_id, recovery = uuid.uuid4().hex[:12], Recovery(db_path)
    pairs = measure_fleet(hosts, configs, plan.target, opts, args, db_path=db_path, run_id=run_id,
                          on_result=on_result, protocol=plan.protocol, recovery=recovery)
    results = [d for _, docs in pairs for d in docs]
    return BenchOutcome(how="remote", results=results, store_path=db_path, run_id=run_id,
                        remote=FleetOutcome(pairs, len(hosts)), recovery=recovery)


def _check_store(db) -> Path:
    """The results database's path, once it is known to open: an unwritable or foreign one fails here, before any
    host is reached."""
    from bench.store import ResultStore

    store = ResultStore(db)
    store.close()
    return store.path


def _hosts(args) -> list:
    from targets.fleet import read_hosts_file
    from targets.ssh import parse_host

    texts = list(args.hosts) + (read_hosts_file(str(args.hosts_file)) if args.hosts_file else [])
    return [parse_host(t) for t in dict.fromkeys(t.strip() for t in texts)]


def ssh_options(args):
    """``targets.ssh.SshOptions`` from the command line's ssh options, checked."""
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


def measure_fleet(hosts, configs, target, opts, args, *, db_path: Path, run_id: str,
                  protocol, on_result: Callable[[str, Result], None] | None = None, recovery=None) -> list:
    """Every config on every host, concurrently across hosts; each result is stored as soon as it is fetched, in
    the database or, once that fails, in ``recovery``'s file (``bench.recovery.Recovery``, shared by the hosts).

    Each host is identified first (``targets.identity``): one that is not ``target`` is refused before it
    measures anything, and ``--target auto`` records what it is. With ``args.check_outputs`` each model also
    runs here on the fixed input, and each result carries ``outputs_vs_local``.

    Returns (HostOutcome, results) per host. ``on_result(host, result)`` is called under a lock.
    """
    from bench.recovery import Recovery
    from bench.store import ResultStore
    from targets.fleet import run_fleet
    from targets.identity import measured_target
    from targets.remote import measure_host
    from targets.remote_result import local_outputs, remote_config, to_result

    graphs, lock = _graphs(configs), threading.Lock()
    check = args.check_outputs
    by_remote = {remote_config(c, target.delegate, check_outputs=check): c for c in configs}
    references = {c.path: local_outputs(c) for c in configs} if check else {}  # before any device is reached
    docs: dict[str, list] = {h.text: [] for h in hosts}  # each host's results
    recovery = recovery or Recovery(db_path)

    def one(host):
        try:
            store = ResultStore(db_path)  # sqlite connections stay in their own thread
        except Exception as err:  # it opened a moment ago: its results go to the recovery file
            store = None
            recovery.note(err)
        measured_as = [target]

        def identify(facts):
            measured_as[0] = measured_target(target, facts, host.text)  # refuses a device that is not the target

        def keep(rcfg, measured):
            cfg = by_remote[rcfg]
            result = to_result(cfg, measured, *graphs[cfg.path], host=host.text, target=measured_as[0].key,
                               reference=references.get(cfg.path))
            result = recovery.stored(store, run_id, result)
            docs[host.text].append(result)
            if on_result is not None:
                with lock:
                    on_result(host.text, result)

        try:
            return measure_host(host, list(by_remote), opts, python=args.remote_python, timeout=args.timeout,
                                on_result=keep, protocol=protocol, identify=identify)
        finally:
            if store is not None:
                store.close()

    outcomes = run_fleet(hosts, one)
    return [(o, docs[o.host]) for o in outcomes]
