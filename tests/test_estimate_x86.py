"""The honesty check: this machine's CPU estimated (``--target cpu --estimate``) beside ``edgekit bench`` here.

A benchmark, not a timed CI test: it runs with ``--benchmark-enable`` only, and asserts that the estimate of
MobileNet v2 fp32 and int8 at 1 thread lands within 30% of the measurement (the ±30% every x86 estimate
carries, ``targets.estimate.X86_EXPECTED_ERROR_PCT``). On a busy machine (a noisy result: bench.protocol's rule) the p50
measures the neighbours as much as the CPU, so the comparison uses the fastest run instead; both are recorded.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.benchmark_suite]
ARGS = ("bench", "mobilenetv2", "--quant", "fp32,int8", "--threads", "1", "--json")


def _measure():
    run = run_cli(*ARGS)
    assert run.code == 0, run.err
    return run.json()


def test_cpu_estimate_within_its_error_of_the_measurement(benchmark):
    from targets.estimate import X86_EXPECTED_ERROR_PCT

    if benchmark.disabled:
        pytest.skip("a timing comparison: run with --benchmark-enable")
    measured = {r["quant"]: r for r in benchmark.pedantic(_measure, rounds=1, iterations=1)}
    est = run_cli(*ARGS[:2], "--target", "cpu", "--estimate", *ARGS[2:])
    assert est.code == 0, est.err
    for r in est.json():
        m = measured[r["quant"]]
        ref = m["latency_ms"]["min"] if m["noisy"] else m["latency_ms"]["p50"]
        ratio = r["latency_ms"]["p50"] / ref
        benchmark.extra_info[r["quant"]] = {"estimate_ms": r["latency_ms"]["p50"], "p50_ms": m["latency_ms"]["p50"],
                                            "min_ms": m["latency_ms"]["min"], "cv": m["cv"], "ratio": ratio}
        assert r["expected_error_pct"] == X86_EXPECTED_ERROR_PCT
        assert abs(ratio - 1) <= X86_EXPECTED_ERROR_PCT / 100, benchmark.extra_info
