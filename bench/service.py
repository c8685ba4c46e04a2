"""The one measuring loop: configurations in interleaved rounds (``bench.protocol``), here or through a runner
that reaches a device, with a failure policy, progress, and each result stored as soon as it is final.

``edgekit bench`` (``edgekit.app.bench``), ``edgekit bench --host`` and the study (``edgekit.study.collect``)
all measure through :func:`measure`. What runs one round is passed in: :func:`local_round` runs it in a fresh
process here; ``targets.remote`` passes one that runs it on a device over ssh (bench/ cannot reach targets/).

Ctrl-C (KeyboardInterrupt) ends the rounds at once; every result that was final by then has been stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bench.protocol import Protocol, median, run_rounds

C = TypeVar("C")  # a configuration (bench.runner.Config here, a device runner's config through ssh)

# Called before each round: (description, rounds done, rounds planned).
Progress = Callable[[str, int, int], None]


class OnFailure(StrEnum):
    """What a configuration that fails does to the others."""

    CONTINUE = "continue"  # it gets a failure result in its place; the others are measured (the project's rule)
    STOP = "stop"  # the run ends with its error (a device that stops answering fails every config alike)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """``on_failure`` for a config's error; ``fatal``: errors that end the run under either (no GPU at all)."""

    on_failure: OnFailure = OnFailure.CONTINUE
    fatal: tuple[type[BaseException], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Plan(Generic[C]):
    """What :func:`measure` needs to turn rounds into results.

    ``finish(i, rounds, round_ids)``: the result of config ``i`` from its round documents; ``fail(i, error)``:
    the result of config ``i`` that failed (CONTINUE only); ``cut(i, rounds)``: the result of config ``i`` from
    the rounds it had finished when the run was interrupted (Ctrl-C, SIGTERM) before its result was final. Without
    ``cut`` those rounds are dropped.
    """

    finish: Callable[[int, list[dict], list[int]], Any]
    fail: Callable[[int, BaseException], Any] | None = None
    cut: Callable[[int, list[dict]], Any] | None = None


def local_round(cfg, n: int) -> dict:
    """One round of a ``bench.runner.Config`` in a fresh process here; only the first profiles ops."""
    from bench.runner import run_child

    return run_child(cfg if n == 0 else replace(cfg, profile_ops=False))


def label(cfg) -> str:
    """A config as progress shows it: model, quant, target and threads, where it has them."""
    parts = [getattr(cfg, k, None) for k in ("model", "quant", "target")]
    if not any(parts):
        return str(cfg)
    threads = getattr(cfg, "threads", None)
    return " ".join(str(p) for p in parts if p) + (f" threads={threads}" if threads is not None else "")


def measure(configs: Sequence[C], plan: Plan, *, protocol: Protocol,
            runner: Callable[[C, int], dict] = local_round, policy: Policy = Policy(),
            progress: Progress | None = None, store: Callable[[int, Any], Any] | None = None,
            failed: dict[int, BaseException] | None = None, interleave: bool = True,
            clock: Callable[[], float] = time.monotonic) -> list:
    """Every config in interleaved rounds; one result per config, in ``configs``' order.

    ``interleave=False``: each config's rounds back to back, the time budget shared (a device over ssh: it is
    not shared with other work, and a dropped connection keeps every config finished before it).

    ``runner(cfg, n)`` runs round ``n`` (0-based, per config) and returns its document (``samples_ms``, ...).
    ``failed``: configs that failed before measuring (a model that could not be read); they are not run.
    A result is final at once for a failure, else once its interval has settled or the rounds end.
    ``store(i, result)`` is called once per config as soon as its result and every earlier config's are final
    (so a database keeps the configs' order); what it returns (the result as stored, with its id), when not
    None, is the result returned for that config; when the run ends early (Ctrl-C, a fatal error, ``STOP``), every
    result final by then is stored before the error goes on. On Ctrl-C (or SIGTERM, which edgekit raises as one)
    a config with finished rounds but no final result gets ``plan.cut``'s result from those rounds, stored too.

    Raises: under ``OnFailure.STOP`` the first config's error, and under either policy a ``policy.fatal`` one;
    KeyboardInterrupt.
    """
    failed = dict(failed or {})
    docs: list[list[dict]] = [[] for _ in configs]
    results: dict[int, Any] = {}
    pending: list[int] = []  # final, not stored yet (an earlier config is still being measured)

    def keep(i: int, result) -> None:
        results[i] = result
        pending.append(i)
        first_open = next((j for j in range(len(configs)) if j not in results), len(configs))
        _store([j for j in sorted(pending) if j < first_open])

    def _store(ready: list[int]) -> None:
        for j in ready:
            pending.remove(j)
            if store is not None:
                kept = store(j, results[j])
                results[j] = results[j] if kept is None else kept

    def fail(i: int, err: BaseException) -> None:
        if policy.on_failure is OnFailure.STOP or isinstance(err, policy.fatal) or plan.fail is None:
            raise err
        failed[i] = err
        keep(i, plan.fail(i, err))

    def one(i: int) -> float | None:
        if progress is not None:
            done = sum(map(len, docs))
            progress(f"{label(configs[i])} round {len(docs[i]) + 1}", min(done, planned), max(planned, done + 1))
        try:
            docs[i].append(runner(configs[i], len(docs[i])))
        except Exception as err:  # this config cannot be loaded or run: the policy says what the others do
            fail(i, err)
            return None
        return median(docs[i][-1]["samples_ms"])

    def final(i: int, round_ids: list[int]) -> None:
        keep(i, plan.finish(i, docs[i], list(round_ids)))

    try:
        for i, err in sorted(failed.items()):
            fail(i, err)
        live = [i for i in range(len(configs)) if i not in failed]
        planned = protocol.min_rounds * len(live)
        if interleave:
            run_rounds(live, one, protocol, clock, on_final=final)
        else:
            start = clock()
            for i in live:
                left = max(protocol.budget_s - (clock() - start), 1e-9)
                run_rounds([i], one, replace(protocol, budget_s=left), clock, on_final=final)
    except KeyboardInterrupt:  # what was measured is kept: each unfinished config's finished rounds
        if plan.cut is not None:
            for i in range(len(configs)):
                if i not in results and i not in failed and docs[i]:
                    results[i] = plan.cut(i, docs[i])
                    pending.append(i)
        raise
    finally:
        _store(sorted(pending))  # ended early: whatever is final is kept
    return [results[i] for i in range(len(configs))]
