"""``edgekit bench --target android --serial SERIAL`` (or a phone target with ``--serial``): measure on phones over
adb with LiteRT's ``benchmark_model``, one phone or a fleet, each result stored as soon as it is final.

``edgekit android fetch`` checks a downloaded binary against :data:`SHA256`, the table of verified checksums.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError

# Verified sha256 of LiteRT's android_arm64 benchmark_model per LiteRT version. Empty: no checksum could be
# verified from a trusted source when this was written, so `edgekit android fetch` refuses rather than download
# an unverified binary; use --benchmark-binary PATH with one you built or trust (docs/android.md).
SHA256: dict[str, str] = {}


def fetch(version: str | None) -> Path:
    """Refuse plainly while no checksum is verified (nothing is downloaded)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        version = version or dist_version("ai-edge-litert")
    except PackageNotFoundError:
        raise UsageError("ai-edge-litert is not installed; pass --version X.Y.Z") from None
    if version not in SHA256:
        raise UsageError(f"no verified sha256 for benchmark_model {version} in edgekit's table (it is empty), so "
                         "nothing is downloaded; build or download LiteRT's android_arm64 benchmark_model yourself "
                         "and pass --benchmark-binary PATH (docs/android.md)")
    raise UsageError("downloading is not implemented in this version; pass --benchmark-binary PATH")


def bench_on_phones(request, target, *, on_result: Callable[[str, dict], None] | None = None):
    """Check the binary, models and phones, then measure every config on every phone, phones in parallel."""
    from bench.store import Recovery, ResultStore
    from edgekit.app.bench_request import BenchOutcome, parse_threads
    from edgekit.app.sources import parse_list, raise_unresolved, resolve
    from targets.android import PhoneConfig, check_binary, measure_phone, select_serials
    from targets.android_result import to_result
    from targets.benchmark_model import BenchmarkArgs
    from targets.fleet import run_fleet

    args, loop = request.remote, request.loop
    if args.benchmark_binary is None:
        raise UsageError("measuring on a phone needs LiteRT's android_arm64 benchmark_model: pass "
                         "--benchmark-binary PATH (see `edgekit android fetch` and docs/android.md)")
    binary = Path(args.benchmark_binary)
    check_binary(binary)
    loop.check()
    threads = parse_threads(request.threads or "4", "cpu")
    sources = resolve(list(request.models), parse_list(request.quant, "--quant", str.lower))
    raise_unresolved(sources)
    serials = select_serials(tuple(args.serials))
    store = ResultStore(request.db)  # an unwritable or foreign --db is refused before any phone is reached
    recovery = Recovery(store.path)  # from here on a database that fails loses no result
    run_id, lock = uuid.uuid4().hex[:12], threading.Lock()
    configs = [(s, PhoneConfig(str(s.path), BenchmarkArgs(t, warmup_runs=loop.warmup, num_runs=loop.runs,
                                                           use_xnnpack=loop.xnnpack)))
               for s in sources for t in threads]
    by_cfg = {c: s for s, c in configs}
    docs: dict[str, list[dict]] = {s: [] for s in serials}

    def one(serial: str):
        try:
            db = ResultStore(store.path)  # sqlite connections stay in their own thread
        except Exception as err:  # it opened a moment ago: this phone's results go to the recovery file
            db = None
            recovery.note(err)

        def keep(cfg, rounds):
            source = by_cfg[cfg]
            doc = to_result(cfg, rounds, outcome_ref[serial], target=target.key, model=source.model,
                            quant=source.quant)
            doc["host"] = serial
            doc["id"], doc["run_id"] = recovery.keep(db, run_id, doc), run_id
            docs[serial].append(doc)
            if on_result is not None:
                with lock:
                    on_result(serial, doc)

        try:
            return measure_phone(serial, [c for _, c in configs], binary, protocol=loop.protocol(),
                                 on_result=keep, timeout=args.timeout, outcome_hook=outcome_ref.__setitem__,
                                 target=target)
        finally:
            if db is not None:
                db.close()

    outcome_ref: dict = {}
    outcomes = run_fleet(serials, one)
    from edgekit.app.remote import FleetOutcome

    pairs = [(_named(o), docs[o.serial]) for o in outcomes]
    return BenchOutcome(kind="remote", results=[d for _, ds in pairs for d in ds], store_path=store.path,
                        run_id=run_id, remote=FleetOutcome(pairs, len(serials)), recovery=recovery)


def _named(outcome):
    """A phone outcome as the fleet report reads a host's (``host``, ``error``)."""
    outcome.host = outcome.serial
    return outcome


__all__ = ["SHA256", "EdgekitError", "bench_on_phones", "fetch"]
