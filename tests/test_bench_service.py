"""The one measuring loop (``bench.service.measure``) with a fake runner: its failure policies, the order it
stores results in, and that Ctrl-C keeps every result that was final. No process is started."""

from __future__ import annotations

import pytest

from bench.protocol import Protocol
from bench.service import OnFailure, Plan, Policy, measure
from edgekit.errors import EdgekitError


class Boom(EdgekitError):
    pass


def _runner(samples: dict, calls: list, *, fail: dict | None = None, interrupt_at: int | None = None):
    def run(cfg: str, n: int) -> dict:
        calls.append((cfg, n))
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        if (fail or {}).get(cfg) == n:
            raise Boom(f"{cfg} broke in round {n}")
        values = samples[cfg]
        return {"samples_ms": [values[n % len(values)]] * 3}

    return run


PLAN = Plan(finish=lambda i, docs, ids: {"i": i, "rounds": len(docs), "ids": ids},
            fail=lambda i, err: {"i": i, "error": str(err)})


def test_a_failing_config_fails_alone_and_the_others_finish():
    calls, stored = [], []
    out = measure(["a", "b", "c"], PLAN, protocol=Protocol(min_rounds=6, budget_s=10), clock=lambda: 0.0,
                  runner=_runner({"a": [1.0], "b": [2.0], "c": [3.0]}, calls, fail={"b": 1}),
                  store=lambda i, r: stored.append(i))
    assert calls[:7] == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1), ("a", 2)]
    assert [c for c, _ in calls] == ["a", "b", "c", "a", "b", "c"] + ["a", "c"] * 4  # b is run no more
    assert out == [{"i": 0, "rounds": 6, "ids": list(range(6))}, {"i": 1, "error": "b broke in round 1"},
                   {"i": 2, "rounds": 6, "ids": list(range(6))}]
    assert stored == [0, 1, 2]  # in the configs' order, whatever order they became final in


def test_stop_raises_the_first_error_and_keeps_what_was_final():
    calls, stored = [], []
    with pytest.raises(Boom, match="b broke in round 0"):
        measure(["a", "b"], PLAN, protocol=Protocol(min_rounds=6, budget_s=10), clock=lambda: 0.0,
                runner=_runner({"a": [1.0], "b": [2.0]}, calls, fail={"b": 0}), interleave=False,
                policy=Policy(on_failure=OnFailure.STOP), store=lambda i, r: stored.append(r))
    assert calls == [("a", n) for n in range(6)] + [("b", 0)]  # one config after the other
    assert stored == [{"i": 0, "rounds": 6, "ids": list(range(6))}]


def test_a_fatal_error_ends_the_run_even_when_continuing():
    with pytest.raises(Boom):
        measure(["a", "b"], PLAN, protocol=Protocol(min_rounds=2, budget_s=10), clock=lambda: 0.0,
                runner=_runner({"a": [1.0], "b": [2.0]}, [], fail={"a": 0}), policy=Policy(fatal=(Boom,)))


def test_ctrl_c_keeps_every_final_result():
    """``a`` settles after its 6 rounds; ``b`` swings and gets more rounds, interrupted: ``a`` and the failed
    ``c`` are stored, ``b`` (not final) is not."""
    calls, stored = [], []
    runner = _runner({"a": [2.0], "b": [1.0, 2.0], "c": [1.0]}, calls, fail={"c": 0}, interrupt_at=16)
    with pytest.raises(KeyboardInterrupt):
        measure(["a", "b", "c"], PLAN, protocol=Protocol(min_rounds=6, budget_s=100), clock=lambda: 0.0,
                runner=runner, store=lambda i, r: stored.append(r))
    assert stored == [{"i": 0, "rounds": 6, "ids": [0, 1, 2, 3, 4, 5]}, {"i": 2, "error": "c broke in round 0"}]


def test_configs_that_failed_before_measuring_are_not_run_and_progress_counts_the_rest():
    calls, seen = [], []
    out = measure(["a", "b"], PLAN, protocol=Protocol(min_rounds=2, budget_s=10), clock=lambda: 0.0,
                  runner=_runner({"a": [1.0]}, calls), failed={1: Boom("unreadable")},
                  progress=lambda text, done, total: seen.append((text, done, total)))
    assert {c for c, _ in calls} == {"a"} and out[1] == {"i": 1, "error": "unreadable"}
    assert seen[:2] == [("a round 1", 0, 2), ("a round 2", 1, 2)]
