"""Stability benchmark: two cold ``edgekit study --quick`` runs agree, and int8 beats fp32 where it should.

Minutes long and meaningful only on a quiet machine, so it runs only with ``--benchmark-enable``::

    pytest tests/test_study_stability.py --benchmark-enable -m benchmark_suite -p no:cacheprovider -s

Each run has its own HOME, converter cache, model folder and --db, so nothing is reused. Every measured cell's
p50 must agree between the runs within ±10%, and int8 must be faster than fp32 for MobileNet v1, MobileNet v2,
ResNet-50 and VGG-16 in both (the issue's acceptance figures; they are printed and kept in extra_info).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.benchmark_suite, pytest.mark.heavy, pytest.mark.tf]

AGREE = 0.10
INT8_FASTER = ("mobilenet", "mobilenetv2", "resnet50", "vgg16")
COLD_BUDGET_S = 360  # a cold --quick study on a 2-core machine


def _cold_study(root, name: str) -> tuple[dict, float]:
    home = root / name
    home.mkdir()
    env = {"HOME": str(home), "EDGEKIT_CACHE_DIR": str(home / ".edgekit" / "cache"),
           "EDGEKIT_BENCH_DIR": str(home / ".edgekit" / "bench")}
    t0 = time.perf_counter()
    run = run_cli("study", "--quick", "--out", str(home / "out"), "--db", str(home / "r.db"), env=env, cwd=home,
                  timeout=1200)
    seconds = time.perf_counter() - t0
    assert run.code == 0, run.err[-3000:]
    doc = json.loads((home / "out" / "results.json").read_text())
    assert doc["counts"]["reused_from_db"] == 0 and doc["counts"]["measured_now"] > 0
    return doc, seconds


def _measured(doc: dict) -> dict:
    return {(r["model"], r["quant"], r["target"]): r for r in doc["rows"] if r["measured"]}


def test_two_cold_quick_studies_agree(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("the stability benchmark runs two cold studies (minutes): pass --benchmark-enable")
    runs = []
    benchmark.pedantic(lambda: runs.append(_cold_study(tmp_path, f"run{len(runs)}")), rounds=2, iterations=1)
    (first, first_s), (second, second_s) = runs
    a, b = _measured(first), _measured(second)
    assert a.keys() == b.keys() and a
    figures = {}
    for key in sorted(a):
        p1, p2 = a[key]["latency_ms"]["p50"], b[key]["latency_ms"]["p50"]
        figures["/".join(key)] = {"run1_p50_ms": p1, "run2_p50_ms": p2, "change": round(p2 / p1 - 1, 4),
                                  "run1_ci95": a[key]["latency_ms"]["ci95"], "run2_ci95": b[key]["latency_ms"]["ci95"],
                                  "noisy": [a[key]["noisy"], b[key]["noisy"]]}
    speedups = {}
    for rows, label in ((a, "run1"), (b, "run2")):
        for m in INT8_FASTER:
            speedups[f"{label}/{m}"] = round(rows[(m, "fp32", "cpu")]["latency_ms"]["p50"]
                                             / rows[(m, "int8", "cpu")]["latency_ms"]["p50"], 3)
    benchmark.extra_info.update(seconds=[round(first_s, 1), round(second_s, 1)], cells=figures,
                                int8_speedup=speedups)
    print(json.dumps(benchmark.extra_info, indent=1))
    off = {k: f["change"] for k, f in figures.items() if abs(f["change"]) > AGREE}
    assert not off, f"p50 moved more than ±{AGREE:.0%} between two cold runs: {off}"
    slower = {k: v for k, v in speedups.items() if v <= 1}
    assert not slower, f"int8 not faster than fp32: {slower}"
    assert max(first_s, second_s) <= COLD_BUDGET_S, (first_s, second_s)
