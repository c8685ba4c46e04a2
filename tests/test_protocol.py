"""The measurement protocol (bench.protocol) with fake clocks and fake timings: deterministic, no TensorFlow."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from bench.compare import bootstrap_ratio, paired_ratio, result_ratio, speed_words
from bench.loop import batch_size, settle, time_calls
from bench.protocol import (
    Protocol,
    Step,
    interleave,
    median_interval,
    order_rank,
    run_rounds,
    settled,
    summarize_rounds,
)
from edgekit.errors import UsageError


class FakeClock:
    """Seconds that move only when a fake measurement says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def fake_rounds(clock: FakeClock, timings: dict, seconds_per_round: float = 1.0):
    """``measure_round(key)``: the next of ``timings[key]`` (cycled), taking ``seconds_per_round`` of fake time."""
    counters = {k: 0 for k in timings}

    def measure_round(key):
        clock.t += seconds_per_round
        values = timings[key]
        value = values[counters[key] % len(values)]
        counters[key] += 1
        return value

    return measure_round


def test_interleaving_order_is_a_b_c_a_b_c():
    assert [s.key for s in interleave(["A", "B", "C"], 2)] == list("ABCABC")
    assert [s.round for s in interleave(["A", "B"], 2, first_round=3)] == [3, 3, 4, 4]


def test_steady_configs_stop_after_min_rounds():
    clock = FakeClock()
    out = run_rounds(["A", "B", "C"], fake_rounds(clock, {"A": [1.0], "B": [2.0], "C": [3.0]}),
                     Protocol(min_rounds=6, budget_s=100), clock)
    assert [s.key for s in out.order] == list("ABC") * 6
    assert out.medians == {"A": [1.0] * 6, "B": [2.0] * 6, "C": [3.0] * 6}
    assert out.round_ids["B"] == list(range(6)) and out.seconds == 18.0


def test_only_noisy_configs_get_more_rounds_within_the_budget():
    clock = FakeClock()
    timings = {"A": [1.0, 1.01, 0.99], "B": [1.0, 2.0]}  # B swings by 2x and never settles
    out = run_rounds(["A", "B"], fake_rounds(clock, timings), Protocol(min_rounds=6, budget_s=20), clock)
    assert len(out.medians["A"]) == 6
    assert len(out.medians["B"]) == 14  # 12 s for the first 6 rounds of both, then 1 s per extra B round up to 20 s
    assert [s.key for s in out.order[12:]] == ["B"] * 8
    assert out.round_ids["B"][6:] == list(range(6, 14))
    assert out.seconds <= 20


def test_max_rounds_caps_re_measuring():
    clock = FakeClock()
    out = run_rounds(["B"], fake_rounds(clock, {"B": [1.0, 3.0]}), Protocol(min_rounds=6, max_rounds=9,
                                                                              budget_s=1e6), clock)
    assert len(out.medians["B"]) == 9


def test_a_config_that_fails_is_measured_no_more():
    """``measure_round`` returns None for a config that failed (edgekit.app.bench records why): it is dropped, and
    the others keep their rounds and their re-measuring."""
    clock = FakeClock()
    steady = fake_rounds(clock, {"A": [1.0], "C": [1.0, 2.0]})
    calls = []

    def measure_round(key):
        calls.append(key)
        return None if key == "B" else steady(key)

    out = run_rounds(["A", "B", "C"], measure_round, Protocol(min_rounds=6, max_rounds=8, budget_s=1e6), clock)
    assert calls.count("B") == 1 and out.dropped == {"B"} and out.medians["B"] == []
    assert len(out.medians["A"]) == 6 and len(out.medians["C"]) == 8
    assert "B" not in [s.key for s in out.order]


def test_min_rounds_run_even_past_the_budget():
    clock = FakeClock()
    out = run_rounds(["A", "B"], fake_rounds(clock, {"A": [1.0, 5.0], "B": [1.0]}, seconds_per_round=10),
                     Protocol(min_rounds=6, budget_s=30), clock)
    assert len(out.medians["A"]) == len(out.medians["B"]) == 6


def test_a_wide_config_that_settles_stops_being_re_measured():
    clock = FakeClock()
    # after six rounds the spread is wide; later rounds are tight, so the order-statistic interval narrows
    timings = {"A": [1.0, 1.3, 1.0, 1.0, 1.0, 1.0] + [1.0] * 40}
    out = run_rounds(["A"], fake_rounds(clock, timings), Protocol(min_rounds=6, budget_s=1e6), clock)
    assert 6 < len(out.medians["A"]) < 30
    assert settled(out.medians["A"]) and not summarize_rounds(out.medians["A"]).noisy


@pytest.mark.parametrize(("n", "rank"), [(5, None), (6, 1), (8, 1), (9, 2), (17, 5), (20, 6), (30, 10)])
def test_order_statistic_ranks_match_the_binomial_tables(n, rank):
    # the ranks of the distribution-free 95% interval of the median, as tabulated (e.g. Conover 1999, table A3)
    assert order_rank(n) == rank
    if rank is not None:
        below = sum(math.comb(n, i) for i in range(rank)) / 2 ** n
        assert 2 * below <= 0.05  # coverage >= 95%


def test_interval_contains_p50_and_is_exact_from_six_rounds():
    rng = random.Random(1)
    for n in range(1, 25):
        xs = [rng.lognormvariate(0, 0.3) for _ in range(n)]
        s = summarize_rounds(xs)
        assert s.ci95[0] <= s.p50 <= s.ci95[1] and s.rounds == n
        assert median_interval(xs)[2] is (n >= 6)
    assert median_interval([5, 1, 4, 2, 3, 6, 9, 8, 7]) == (2, 8, True)


def test_noisy_flag():
    tight = summarize_rounds([10.0, 10.1, 9.9, 10.0, 10.05, 9.95])
    assert not tight.noisy and tight.p50 == 10.0 and tight.ci95 == (9.9, 10.1)
    assert 0 < tight.cv < 0.01
    assert summarize_rounds([10.0, 12.0, 8.0, 10.0, 11.0, 9.0]).noisy  # +-20%
    assert summarize_rounds([10.0] * 5).noisy  # too few rounds for a 95% interval
    assert summarize_rounds([10.0]).to_dict() == {"p50": 10.0, "ci95": [10.0, 10.0], "rounds": 1, "cv": 0.0,
                                                  "noisy": True}


def test_comparison_wording():
    assert speed_words("int8", "fp32", (2.137, 1.9, 2.31)) == "int8 is 2.1x faster than fp32 (1.9–2.3x)"
    assert speed_words("int8", "fp32", (0.5, 0.4, 0.625)) == "int8 is 2.0x slower than fp32 (1.6–2.5x)"
    assert speed_words("int8", "fp32", (12.6, 11.0, 14.2)) == "int8 is 13x faster than fp32 (11–14x)"
    same = speed_words("int8", "fp32", (1.02, 0.97, 1.08))
    assert same.startswith("no measurable difference between int8 and fp32") and "0.97–1.08" in same


def test_ratio_paired_by_round_and_bootstrapped():
    a = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]
    b = [2 * x for x in a]  # the machine's drift hits both alike: paired, the ratio is exactly 2
    assert paired_ratio(a, b) == (2.0, 2.0, 2.0)
    r, lo, hi = bootstrap_ratio(a, b)
    assert r == pytest.approx(2.0) and lo < 2.0 < hi and (r, lo, hi) == bootstrap_ratio(a, b)  # fixed seed
    r, lo, hi = bootstrap_ratio(a, [x * 1.01 for x in reversed(a)])
    assert lo <= 1.0 <= hi


def test_result_ratio_pairs_only_rounds_of_one_run():
    from edgekit.result import Result

    def result(**doc):
        return Result.from_dict({"target": "cpu", "model": "m", **doc})

    a = {"run_id": "r1", "round_ms": [1.0, 1.1, 0.9, 1.0, 1.05, 0.95], "round_ids": list(range(6))}
    b = {"run_id": "r1", "round_ms": [2.0, 2.2, 1.8, 2.0, 2.1, 1.9], "round_ids": list(range(6))}
    assert result_ratio(result(**a), result(**b)) == (2.0, 2.0, 2.0, "paired by round")
    assert result_ratio(result(**a), result(**{**b, "run_id": "r2"}))[3] == "bootstrap over rounds"
    assert result_ratio(result(**a), result(**{**b, "round_ms": [2.0], "round_ids": [0]})) is None


def test_bad_rounds_and_budget_are_usage_errors():
    with pytest.raises(UsageError, match="--rounds must be 1 or more, got 0"):
        Protocol(min_rounds=0)
    with pytest.raises(UsageError, match="--rounds must be 1 or more, got -3"):
        Protocol(min_rounds=-3)
    with pytest.raises(UsageError, match="--budget must be a positive"):
        Protocol(budget_s=0)
    with pytest.raises(UsageError, match="shorter than one round"):
        Protocol(budget_s=0.2).check_budget(0.5)


class CallClock(FakeClock):
    """A clock that a fake call advances by the next of ``durations`` (seconds)."""

    def __init__(self, durations) -> None:
        super().__init__()
        self.durations = iter(durations)
        self.calls = 0

    def call(self) -> None:
        self.calls += 1
        self.t += next(self.durations)


def test_warmup_runs_until_the_latency_settles():
    # a cold start that speeds up, then steady: 3 calls within 5% of the 3 before end the warmup
    clock = CallClock([0.010, 0.006, 0.004, 0.003, 0.0021, 0.002, 0.002, 0.002, 0.002] + [0.002] * 50)
    warm = settle(clock.call, clock=clock)
    assert warm["settled"] and warm["warmup_runs"] == 9 and warm["call_ms"] == pytest.approx(2.0, rel=0.03)


def test_warmup_is_capped_when_it_never_settles():
    clock = CallClock([0.001 * (1 + i % 2) * (1 + i) for i in range(200)])
    warm = settle(clock.call, max_seconds=1.0, clock=clock)
    assert not warm["settled"] and clock.t >= 1.0 and warm["warmup_runs"] == clock.calls


def test_short_calls_are_timed_in_batches():
    assert batch_size(5.0, 0.001) == 1 and batch_size(0.1, 0.001) == 1
    assert batch_size(0.027, 0.0005) == 38  # LeNet-5's ~27 us: 38 calls, about 1 ms, per sample
    assert batch_size(0.01, 0.02) == 200  # a slow timer: overhead below 1% of the sample
    clock = CallClock([0.00002] * 1000)
    samples = time_calls(clock.call, warmup=0, min_runs=5, min_seconds=0.0, batch=40, clock=clock)
    assert len(samples) == 5 and clock.calls == 200 and samples[0] == pytest.approx(0.02)


def test_steps_are_frozen_records():
    step = Step(0, "A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.round = 1
    assert step == Step(0, "A")
