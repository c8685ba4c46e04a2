"""The study's cells still to measure, one target at a time: here in interleaved rounds (``bench.service``), on a
device over ssh through ``edgekit bench --host``'s path, or on a phone over adb (``edgekit.study.phones``)."""

from __future__ import annotations

from collections.abc import Callable

from edgekit.result import Result
from edgekit.study.cells import Converted, threads_for
from edgekit.study.plan import Cell, StudyPlan

Say = Callable[[str], None]


def cell_config(plan: StudyPlan, cell: Cell, conv: Converted):
    from bench.runner import Config

    s = plan.settings
    return Config(path=str(conv.path), model=cell.model, quant=cell.quant, target=cell.target,
                  threads=threads_for(plan, cell.target), xnnpack=True, runs=s.runs, min_seconds=s.min_seconds,
                  warmup=s.warmup, warmup_seconds=s.warmup_seconds)


def measure_target(plan: StudyPlan, target: str, todo: list, say: Say, keep: Callable[[int, Result], None]) -> None:
    """The cells of one target in interleaved rounds (``bench.service.measure``): here each round in a fresh
    process, on a device through its ssh runner. ``keep(i, result)`` as soon as each is final; a cell that
    fails gets its failure result and the others go on."""
    from bench.gpu import NoGpuError
    from bench.provenance import device
    from bench.result import cut_short, failure_result
    from bench.service import Plan, Policy, measure
    from targets.local_result import finish_local

    configs = [cell_config(plan, cell, conv) for cell, conv, _ in todo]
    protocol = plan.settings.protocol()
    if target in plan.hosts:
        _measure_remote(configs, target, plan.hosts[target], [conv for _, conv, _ in todo], protocol, keep)
        return
    if target in plan.serials:
        from edgekit.study.phones import measure_phone_cells

        say(f"measuring {len(configs)} configuration(s) on {target} over adb ({plan.serials[target]})")
        measure_phone_cells(plan, target, configs, [conv for _, conv, _ in todo], protocol, keep)
        return
    say(f"measuring {len(configs)} configuration(s) on {target}: {protocol.min_rounds} interleaved rounds each, "
        f"more for noisy ones within {protocol.budget_s:g} s")
    convs = [conv for _, conv, _ in todo]
    def finish(i: int, docs: list[dict], ids: list[int]) -> Result:
        return finish_local(configs[i], docs, convs[i].graph, convs[i].cost.macs, round_ids=ids)

    jobs = Plan(finish=finish, fail=lambda i, err: failure_result(configs[i], err, device=device()),
                cut=lambda i, docs: cut_short(finish(i, docs, list(range(len(docs)))), protocol.min_rounds))
    measure(configs, jobs, protocol=protocol, store=keep, policy=Policy(fatal=(NoGpuError,)))  # no GPU: all alike


def _measure_remote(configs: list, target: str, host: str, convs: list[Converted], protocol,
                    keep: Callable[[int, Result], None]) -> None:
    """The cells of one device target over ssh, through ``edgekit bench --host``'s path (``targets.remote``: its
    session is the runner of ``bench.service.measure``, each cell's rounds back to back). A device that cannot
    be reached, is not the target, or stops answering fails the cells it had not finished."""
    from bench.result import failure_result
    from targets.identity import check
    from targets.registry import get_target
    from targets.remote import measure_host
    from targets.remote_result import remote_config, to_result
    from targets.ssh import SshOptions, parse_host

    named = get_target(target)
    by_remote = {remote_config(c, named.delegate): i for i, c in enumerate(configs)}

    def one(rcfg, rounds) -> None:
        i = by_remote[rcfg]
        keep(i, to_result(configs[i], rounds, convs[i].graph, convs[i].cost.macs, host))

    outcome = measure_host(parse_host(host), list(by_remote), SshOptions.from_env(), protocol=protocol,
                           on_result=one, identify=lambda facts: check(named, facts, host))  # never an emulator
    if outcome.error is not None:
        done = {by_remote[rcfg] for rcfg, _ in outcome.measured}
        for i, cfg in enumerate(configs):
            if i not in done:
                keep(i, failure_result(cfg, outcome.error))
