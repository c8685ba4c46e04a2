"""MobileNetV2 through the harness: the acceptance command, int8 faster than fp32, and the harness overhead.

The overhead check is a pytest-benchmark benchmark (``--benchmark-enable`` reports edgekit's loop), and it
also passes in the default ``--benchmark-disable`` suite, because both loops are measured inside the test.
"""

from __future__ import annotations

import statistics
import time

import pytest

from bench.loop import feed, time_calls
from bench.runner import Config, run_child
from bench.stats import summarize
from edgekit.runtime import load
from tests._mnv2 import mobilenetv2
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


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
    print({d["quant"]: (d["latency_ms"]["p50"], d["peak_rss_mb"], d["cv"]) for d in docs})


def test_int8_is_faster_than_fp32(acceptance_run):
    fp32, int8 = acceptance_run.json()
    assert int8["latency_ms"]["p50"] < fp32["latency_ms"]["p50"], (int8["latency_ms"], fp32["latency_ms"])
    assert int8["size_bytes"] < fp32["size_bytes"] / 3


def _bare_p50(interpreter, runs: int) -> float:
    """The loop a user would write: perf_counter around invoke()."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interpreter.invoke()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def test_harness_overhead_against_a_bare_invoke_loop(benchmark):
    """edgekit's p50 (the real harness: a fresh child process) over a bare in-process loop, interleaved."""
    path = mobilenetv2("int8")
    runs = 30
    bare_model = load(path, threads=1)
    feed(bare_model.interpreter)
    cfg = Config(str(path), "mobilenetv2", "int8", threads=1, runs=runs, min_seconds=0.0, warmup=3)
    ours, bare = [], []
    for _ in range(3):
        ours.append(summarize(run_child(cfg)["samples_ms"]).p50)
        time_calls(bare_model.interpreter.invoke, warmup=3, min_runs=1, min_seconds=0)
        bare.append(_bare_p50(bare_model.interpreter, runs))
    benchmark.extra_info.update(edgekit_p50_ms=ours, bare_p50_ms=bare)
    benchmark.pedantic(lambda: time_calls(bare_model.interpreter.invoke, warmup=0, min_runs=runs, min_seconds=0),
                       rounds=1, iterations=1)
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"edgekit p50 {ours} ms, bare p50 {bare} ms, ratio {ratio:.3f}")
    assert 0.95 <= ratio <= 1.05, (ours, bare)
