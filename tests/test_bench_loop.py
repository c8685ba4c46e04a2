"""The timing loop's stopping rules, as TFLite's benchmark_model has them (no TensorFlow)."""

from __future__ import annotations

import time

from bench.loop import time_calls


def test_at_least_min_runs_and_warmup_untimed():
    calls = []
    samples = time_calls(lambda: calls.append(1), warmup=3, min_runs=7, min_seconds=0.0)
    assert len(samples) == 7 and len(calls) == 10
    assert all(s >= 0 for s in samples)


def test_at_least_min_seconds():
    start = time.perf_counter()
    samples = time_calls(lambda: time.sleep(0.002), warmup=0, min_runs=1, min_seconds=0.05)
    assert time.perf_counter() - start >= 0.05 and len(samples) >= 2


def test_max_seconds_caps_a_run_that_has_not_reached_min_runs():
    samples = time_calls(lambda: time.sleep(0.01), warmup=0, min_runs=10_000, min_seconds=0.0, max_seconds=0.05)
    assert 1 <= len(samples) < 100
