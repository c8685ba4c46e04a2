"""``edgekit bench --target android --serial SERIAL`` (or a phone target with ``--serial``): measure on phones over
adb with LiteRT's ``benchmark_model``, one phone or a fleet, each result stored as soon as it is final.

Without ``--benchmark-binary`` the binary ``edgekit android fetch`` installed for this machine's LiteRT version is
used (``edgekit.app.android_fetch``), checked against its verified sha256 again before it is pushed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Result


def bench_on_phones(plan, *, on_result: Callable[[str, Result], None] | None = None,
                    on_stored: Callable[[Result], None] | None = None):
    """Check the binary, models and phones, then measure every config on every phone, phones in parallel.

    ``on_stored(result)`` as each result is kept (so that Ctrl-C can say what was). A phone that fails (unplugged,
    not the target) keeps what it finished, and each config it had not finished gets a failure row."""
    from bench.recovery import Recovery
    from bench.store import ResultStore
    from edgekit.app.bench_request import BenchOutcome
    from edgekit.app.sources import raise_unresolved
    from targets.adb import select_serials
    from targets.android import PhoneConfig, measure_phone
    from targets.android_result import to_result
    from targets.benchmark_model import BenchmarkArgs
    from targets.fleet import run_fleet

    args, loop, target = plan.request.remote, plan.request.loop, plan.target
    binary = phone_binary(args.benchmark_binary)
    raise_unresolved(plan.items)
    serials = select_serials(tuple(args.serials))
    store = ResultStore(plan.request.db)  # an unwritable or foreign --db is refused before any phone is reached
    recovery = Recovery(store.path)  # from here on a database that fails loses no result
    run_id, lock = uuid.uuid4().hex[:12], threading.Lock()
    configs = [(s, PhoneConfig(str(s.path), BenchmarkArgs(t, warmup_runs=loop.warmup, num_runs=loop.runs,
                                                           use_xnnpack=loop.xnnpack,
                                                           use_gpu=args.delegate == "gpu")))
               for s in plan.items for t in plan.threads]
    by_cfg = {c: s for s, c in configs}
    docs: dict[str, list] = {s: [] for s in serials}  # each phone's results

    def one(serial: str):
        try:
            db = ResultStore(store.path)  # sqlite connections stay in their own thread
        except Exception as err:  # it opened a moment ago: this phone's results go to the recovery file
            db = None
            recovery.note(err)

        def keep(cfg, rounds):
            source = by_cfg[cfg]
            result = to_result(cfg, rounds, outcome_ref[serial], target=target.key, model=source.model,
                               quant=source.quant)
            store_one(result.with_keys(host=serial))

        def store_one(result):
            result = recovery.stored(db, run_id, result)
            docs[serial].append(result)
            with lock:
                if on_result is not None and not result.failed:
                    on_result(serial, result)
                if on_stored is not None:
                    on_stored(result)

        try:
            outcome = measure_phone(serial, [c for _, c in configs], binary, protocol=plan.protocol,
                                    on_result=keep, timeout=args.timeout, outcome_hook=outcome_ref.__setitem__,
                                    target=target, stop=stop)
            if outcome.error is not None:
                for result in unfinished_rows(outcome, configs, target.key):
                    store_one(result)
            return outcome
        finally:
            if db is not None:
                db.close()

    outcome_ref: dict = {}
    stop = threading.Event()
    outcomes = run_fleet(serials, one, stop)
    from edgekit.app.remote import FleetOutcome

    pairs = [(_named(o), docs[o.serial]) for o in outcomes]
    return BenchOutcome(how="remote", results=[d for _, ds in pairs for d in ds], store_path=store.path,
                        run_id=run_id, remote=FleetOutcome(pairs, len(serials)), recovery=recovery)


def unfinished_rows(outcome, configs: list, target: str) -> list:
    """A failure row, with the phone's error, for each config a failed phone had not finished."""
    from bench.result import failure_result
    from bench.runner import Config

    done = {cfg for cfg, _ in outcome.measured}
    rows = []
    for source, cfg in configs:
        if cfg not in done:
            failed = failure_result(Config(cfg.path, source.model, source.quant, target, cfg.args.threads),
                                    outcome.error)
            rows.append(failed.with_keys(host=outcome.serial))
    return rows


def phone_binary(given: Path | None) -> Path:
    """The benchmark_model to push: ``--benchmark-binary``, else the one ``edgekit android fetch`` installed for
    this machine's LiteRT version (its sha256 checked again); checked to be an arm64 ELF either way."""
    from edgekit.app.android_fetch import SHA256, installed
    from targets.adb import check_binary

    if given is not None:
        check_binary(Path(given))
        return Path(given)
    found = installed()
    if found is None:
        raise UsageError("measuring on a phone needs LiteRT's android_arm64 benchmark_model: run `edgekit android "
                         "fetch`, or pass --benchmark-binary PATH (docs/android.md)")
    check_binary(found, SHA256.get(found.parent.name))
    return found


def _named(outcome):
    """A phone outcome as the fleet report reads a host's (``host``, ``error``)."""
    outcome.host = outcome.serial
    return outcome


__all__ = ["EdgekitError", "bench_on_phones", "phone_binary", "unfinished_rows"]
