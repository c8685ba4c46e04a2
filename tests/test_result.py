"""The one result record (``edgekit.result``): every kind of document edgekit writes goes through it unchanged,
including a results database written before the record existed."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from bench.store import ResultStore
from edgekit.result import Kind, Result
from targets.registry import get_target
from tests.conftest import DATA


def _same(doc: dict) -> None:
    back = Result.from_dict(doc).to_dict()
    assert json.dumps(back, default=str) == json.dumps(doc, default=str)  # the same keys, values and order


def test_a_database_written_by_main_reads_back_unchanged(tmp_path):
    db = tmp_path / "results.db"
    shutil.copy(DATA / "results_main.db", db)  # written by `edgekit bench` at 97664e4, before the record
    docs = [r.to_dict() for r in ResultStore(db).last(10)]
    kinds = [Result.from_dict(d).kind for d in docs]
    assert kinds == [Kind.MEASURED, Kind.FAILED]
    for doc in docs:
        _same(doc)
    measured, failed = (Result.from_dict(d) for d in docs)
    assert measured.rounds.rounds == 2 and measured.p50_ms == docs[0]["latency_ms"]["p50"] > 0
    assert measured.extra["time_utc"] == docs[0]["time_utc"]  # provenance is carried through
    assert failed.failure.error_type == "ModelFileError" and "not found" in failed.failure.error
    # written back into a store, a record is the same row again
    store = ResultStore(tmp_path / "again.db")
    store.add("r", Result.from_dict(docs[0]))
    again = store.last(1)[0].to_dict()
    assert {k: v for k, v in again.items() if k not in ("id", "run_id")} == \
        {k: v for k, v in docs[0].items() if k not in ("id", "run_id")}


def test_estimates_and_fit_verdicts_round_trip():
    from targets.estimate import estimate_bench
    from targets.mcu_bench import bench_mcu

    est = estimate_bench(DATA / "tiny_int8.tflite", get_target("rpi4")).to_dict()
    assert Result.kind_of(est) is Kind.ESTIMATED and not Result.from_dict(est).measured
    _same(est)
    fit = bench_mcu(DATA / "tiny_int8.tflite", get_target("cortex-m4")).to_dict()
    record = Result.from_dict(fit)
    assert record.kind is Kind.FIT and record.fit.ram["arena_bytes"] > 0
    _same(fit)


def test_unknown_keys_are_carried_through():
    doc = {"target": "cpu", "model": "m", "quant": "fp32", "threads": 1, "measured": False, "path": "/m.tflite",
           "error": "boom", "error_type": "ModelFileError", "energy_mj": 1.5, "warnings": []}
    record = Result.from_dict(doc)
    assert record.failed and record.extra["energy_mj"] == 1.5
    _same(doc)


def test_the_record_is_frozen_and_checks_its_kind():
    record = Result.from_dict({"target": "cpu", "model": "m", "quant": None, "threads": 1,
                               "error": "boom", "error_type": "UsageError"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.model = "other"
    with pytest.raises(ValueError, match="measured result needs figures, rounds"):
        Result(kind=Kind.MEASURED, target="cpu", model="m", quant=None, threads=1)
    with pytest.raises(ValueError, match="not a result document"):
        Result.from_dict({"model": "m"})


def test_the_committed_study_rows_round_trip():
    """A study's rows are bench records with its columns on top (docs/study-example, written by main)."""
    doc = json.loads((DATA.parent.parent / "docs" / "study-example" / "results.json").read_text())
    kinds = {Result.kind_of(r) for r in doc["rows"]}
    assert kinds == {Kind.MEASURED, Kind.ESTIMATED}
    for row in doc["rows"]:
        _same(row)


def test_energy_is_a_typed_field_and_round_trips():
    from edgekit.energy import EnergyFigure
    from edgekit.result import EstimateInfo, Figures, Kind, Latency

    fig = EnergyFigure(mj=2.5, measured=False, source="estimated: test", low_mj=1.0, high_mj=4.0,
                       expected_error_pct=40, power_w=3.1)
    record = Result(kind=Kind.ESTIMATED, target="rpi4", model="m", quant="int8", threads=4, path="/m.tflite",
                    figures=Figures(latency_ms=Latency(mean=1.0, p50=1.0)),
                    estimate_info=EstimateInfo(estimate_method="roofline"), energy=fig)
    doc = record.to_dict()
    assert {k: doc[k] for k in fig.to_dict()} == fig.to_dict()
    back = Result.from_dict(doc)
    assert back.energy == fig and back == record
    assert not any(key.startswith("energy_") for key in back.extra)
    assert back.to_dict() == doc
