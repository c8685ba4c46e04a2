"""MobileNetV2 through the harness: the acceptance command, int8 faster than fp32, and the harness overhead.

The overhead check is a pytest-benchmark benchmark (``--benchmark-enable`` reports edgekit's loop), and it
also passes in the default ``--benchmark-disable`` suite, because both loops are measured inside the test.
"""

from __future__ import annotations

import time

import pytest

from bench.loop import feed, time_interpreter
from bench.stats import summarize
from edgekit.runtime import load
from tests._mnv2 import mobilenetv2
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.heavy]  # the acceptance command end to end: CI's heavy tier


@pytest.fixture(scope="module")
def acceptance_run(tmp_path_factory):
    mobilenetv2("fp32"), mobilenetv2("int8")  # convert (or hit the cache) outside the timed CLI call
    db = tmp_path_factory.mktemp("db") / "r.db"
    return run_cli("bench", "mobilenetv2", "--quant", "fp32,int8", "--threads", "1", "--json", "--db", str(db))


def test_acceptance_command_keys(acceptance_run):
    assert acceptance_run.code == 0, acceptance_run.err
    docs = acceptance_run.json()
    assert [(d["model"], d["quant"], d["threads"]) for d in docs] == [("mobilenetv2", "fp32", 1),
                                                                       ("mobilenetv2", "int8", 1)]
    for d in docs:
        assert {"target", "model", "quant", "threads", "measured", "latency_ms", "init_ms", "first_ms",
                "peak_rss_mb", "size_bytes", "macs", "gmacs_per_s", "backend", "device"} <= d.keys()
        assert {"min", "mean", "std", "p50", "p90", "p99"} <= d["latency_ms"].keys()
        assert d["macs"] > 250e6 and d["measured"] is True
        # the child's own peak (not the converting parent's, ~2 GB with TF), and no TF in the child
        assert d["peak_rss_mb"] < 300 and d["tf_imported"] is False
    print({d["quant"]: (d["latency_ms"]["p50"], d["peak_rss_mb"], d["cv"]) for d in docs})


def test_int8_is_faster_than_fp32(acceptance_run):
    fp32, int8 = acceptance_run.json()
    assert int8["latency_ms"]["p50"] < fp32["latency_ms"]["p50"], (int8["latency_ms"], fp32["latency_ms"])
    assert int8["size_bytes"] < fp32["size_bytes"] / 3


def _bare_samples(interpreter, runs: int) -> list[float]:
    """The loop a user would write: perf_counter around invoke()."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interpreter.invoke()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def test_harness_overhead_against_a_bare_invoke_loop(benchmark):
    """edgekit's measuring path (runtime.load + bench.loop, as bench.child runs it) against a bare
    ai_edge_litert Interpreter loop on the same model, in short alternating blocks so that the shared
    machine's drift hits both alike; the median of the per-block p50 ratios must be within 1.00 ± 0.05."""
    from ai_edge_litert.interpreter import Interpreter

    path = mobilenetv2("int8")
    ours_model = load(path, threads=1)
    feed(ours_model.interpreter)
    bare = Interpreter(model_path=str(path), num_threads=1)
    bare.allocate_tensors()
    feed(bare)
    ours, theirs, ratios = [], [], []
    for _ in range(30):
        block = time_interpreter(ours_model.interpreter, warmup=1, min_runs=5, min_seconds=0)["samples_ms"]
        bare.invoke()
        bare_block = _bare_samples(bare, 5)
        ours += block
        theirs += bare_block
        ratios.append(summarize(block).p50 / summarize(bare_block).p50)
    benchmark.extra_info.update(edgekit_p50_ms=summarize(ours).p50, bare_p50_ms=summarize(theirs).p50)
    benchmark.pedantic(lambda: time_interpreter(ours_model.interpreter, warmup=0, min_runs=5, min_seconds=0),
                       rounds=3, iterations=1)
    ratio = summarize(ratios).p50  # block by block: neighbours share the machine's load
    print(f"edgekit p50 {summarize(ours).p50:.3f} ms, bare p50 {summarize(theirs).p50:.3f} ms, ratio {ratio:.3f}")
    assert 0.95 <= ratio <= 1.05, (summarize(ours), summarize(theirs))
