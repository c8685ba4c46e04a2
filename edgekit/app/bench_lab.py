"""``edgekit bench --cluster``: a device target's configurations measured on every device of that target in a lab
(``edgekit.app.cluster``), as ``edgekit bench --hosts`` measures them on every host of a file.

Each configuration on each device is one task of ``edgekit.app.lab``, pinned to the node that owns the device. Only
this process (the driver) writes the results database, each result as it arrives: the same record as
``edgekit bench --host`` gives, plus ``where`` (node and device) and ``cluster`` (node id, device, start and end).
A device that fails costs only its own results, as a host of a fleet does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from edgekit.errors import EdgekitError
from edgekit.result import Result


def bench_on_lab(plan, *, on_result: Callable[[str, Result], None] | None = None,
                 on_stored: Callable[[Result], None] | None = None,
                 show: Callable[[int, int, str], None] = lambda *_: None,
                 say: Callable[[str], None] = lambda _: None):
    """Every configuration on every live device of the plan's target in the lab; a BenchOutcome like a
    fleet's. What --cluster cannot go with was refused as the plan was made
    (``edgekit.app.bench_request.make_plan``)."""
    from bench.recovery import Recovery
    from bench.store import DEFAULT_DB, ResultStore
    from edgekit.app.cluster import connect, disconnect
    from edgekit.app.remote import _graphs
    from edgekit.app.sources import raise_unresolved

    request, target = plan.request, plan.target
    store = ResultStore(request.db)  # an unwritable or foreign --db fails before the cluster is reached
    recovery = Recovery(store.path)
    raise_unresolved(plan.items)
    configs = plan.configs(profile=False)
    graphs = _graphs(configs)
    lab = connect(request.cluster, log_dir=(request.db or DEFAULT_DB).expanduser().parent)
    try:
        devices = lab.devices_of(target.key)
        if not devices:
            have = sorted({d.target for d in lab.devices if lab.alive(d.node)})
            raise EdgekitError(f"the cluster at {lab.address} has no device for target {target.key} (it has "
                               f"{', '.join(have) or 'none'}); join a lab host that owns one ('edgekit cluster "
                               "join ... --hosts FILE')")
        return _measure(lab, devices, configs, graphs, plan, store, recovery, on_result, on_stored, show, say)
    finally:
        store.close()
        disconnect()


def _measure(lab, devices, configs, graphs, plan, store, recovery, on_result, on_stored, show, say):
    from edgekit.app.bench_request import BenchOutcome
    from edgekit.app.lab import Job, measure_jobs, node_name
    from edgekit.app.remote import FleetOutcome
    from targets.remote import HostOutcome

    jobs = [Job(cfg, *graphs[cfg.path], dev) for dev in devices for cfg in configs]
    outcomes = {d.host: HostOutcome(d.host) for d in devices}
    docs: dict[str, list] = {d.host: [] for d in devices}  # each device's results
    run_id = uuid.uuid4().hex[:12]

    def keep(i: int, result: Result) -> None:
        host = jobs[i].device.host
        if result.failed:  # as a fleet's host: its error, not a stored row
            outcomes[host].error = outcomes[host].error or EdgekitError(f"{host}: {result.failure.error}")
            return
        result = recovery.stored(store, run_id, result)
        docs[host].append(result)
        if on_stored is not None:
            on_stored(result)
        if on_result is not None:
            on_result(host, result)

    say(f"measuring {len(configs)} configuration(s) on each of {len(devices)} {jobs[0].config.target} device(s): "
        + ", ".join(f"{d.host} ({node_name(lab, d.node)})" for d in devices))
    measure_jobs(lab, jobs, protocol=plan.protocol, keep=keep, say=say, show=show)
    pairs = [(outcomes[d.host], docs[d.host]) for d in devices]
    results = [d for _, ds in pairs for d in ds]
    return BenchOutcome(how="remote", results=results, store_path=store.path, run_id=run_id,
                        remote=FleetOutcome(pairs, len(devices)), recovery=recovery)
