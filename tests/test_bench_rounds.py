"""``edgekit bench``'s measuring (edgekit.app.bench.measure_and_store) drives rounds through the protocol: interleaved,
each a separate child, built into one result per config. The child is faked, so no timing is real."""

from __future__ import annotations

import bench.runner
from bench.protocol import Protocol
from bench.runner import Config
from edgekit.app.bench import analyse, measure_and_store
from edgekit.app.sources import bench_items
from tests.conftest import DATA


class FakeStore:
    def __init__(self) -> None:
        self.docs = []
        self.path = "fake.db"  # where a result the store could not take would be kept beside (never here)

    def add(self, run_id, result) -> int:
        self.docs.append(result.to_dict())  # the document the database keeps
        return len(self.docs)


def _child(order: list, clock: list, samples: dict):
    counts = {k: 0 for k in samples}

    def run_child(cfg, timeout=900):
        order.append(cfg.model)
        clock[0] += 1.0
        values = samples[cfg.model]
        value = values[counts[cfg.model] % len(values)]
        counts[cfg.model] += 1
        return {"init_ms": 1.0, "first_ms": 2.0, "samples_ms": [value] * 5, "warmup_runs": 4, "settled": True,
                "batch": 1, "backend": "fake", "backend_version": "0", "baseline_rss_mb": 10.0, "peak_rss_mb": 20.0,
                "pinned_cores": [0], "machine_before": {"load_average": [1.0, 1.0, 1.0]},
                "machine_after": {"load_average": [1.5, 1.0, 1.0]}}

    return run_child


def test_configs_are_measured_in_interleaved_rounds(monkeypatch):
    order, clock = [], [0.0]
    monkeypatch.setattr(bench.runner, "run_child", _child(order, clock, {"steady": [2.0], "swinging": [1.0, 2.0]}))
    configs = [Config(str(DATA / "tiny_int8.tflite"), "steady", "int8"),
               Config(str(DATA / "tiny_fp32.tflite"), "swinging", "fp32")]
    store = FakeStore()
    analyses = analyse(bench_items([c.path for c in configs], None))  # each file read and analysed once
    results = measure_and_store(configs, store, "run1", analyses=analyses, profile=False,
                                protocol=Protocol(min_rounds=6, budget_s=16), clock=lambda: clock[0])
    docs = [r.to_dict() for r in results]
    assert order[:12] == ["steady", "swinging"] * 6 and order[12:] == ["swinging"] * 4
    steady, swinging = docs
    assert (steady["rounds"], steady["noisy"], steady["latency_ms"]["p50"], steady["latency_ms"]["ci95"]) == (
        6, False, 2.0, [2.0, 2.0])
    assert swinging["rounds"] == 10 and swinging["noisy"] is True and swinging["round_ids"] == list(range(10))
    lo, hi = swinging["latency_ms"]["ci95"]
    assert lo <= swinging["latency_ms"]["p50"] <= hi and swinging["cv"] > 0.3
    assert swinging["machine"]["after"]["load_average"][0] == 1.5 and swinging["batch"] == 1
    assert any(w.startswith("noisy:") for w in swinging["warnings"]) and store.docs == [
        {k: v for k, v in d.items() if k not in ("id", "run_id")} for d in docs]  # stored before its id was known
