"""Many models, one failure: a model that cannot be read, loaded or run fails alone. It gets a result with its
error, the others are measured, printed and saved, and the run ends with one line and exit 1."""

from __future__ import annotations

import csv

import pytest

from edgekit.app.bench import failures_error
from edgekit.errors import UsageError
from tests.conftest import DATA, assert_one_line_error, run_cli

FAST = ("--runs", "3", "--min-seconds", "0", "--warmup", "0", "--rounds", "1", "--budget", "1")
INT8, FP32 = str(DATA / "tiny_int8.tflite"), str(DATA / "tiny_fp32.tflite")


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "bad.tflite"
    path.write_bytes((DATA / "tiny_int8.tflite").read_bytes()[:2000])  # truncated: offsets point past the end
    return str(path)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, bad):
    """One run over a good model, a corrupt one and another good one, as JSON, stored and exported."""
    tmp = tmp_path_factory.mktemp("mixed")
    run = run_cli("bench", INT8, bad, FP32, "--threads", "1,2", *FAST, "--json", "--db", str(tmp / "r.db"),
                  "--csv", str(tmp / "r.csv"))
    return run, tmp


def test_the_failed_model_gets_a_row_and_the_others_are_measured(mixed):
    run, _ = mixed
    line = assert_one_line_error(run, 1)
    assert line == run.err.strip().splitlines()[-1]  # the last thing the run says
    assert line.startswith("edgekit: error: 1 of 3 models failed (4 result(s) kept): bad: ") and "bad.tflite" in line
    docs = run.json()
    assert [(d["model"], d["threads"]) for d in docs] == [("tiny_int8", 1), ("tiny_int8", 2), ("bad", 1),
                                                         ("bad", 2), ("tiny_fp32", 1), ("tiny_fp32", 2)]
    for d in docs:
        if d["model"] == "bad":
            assert d["measured"] is False and "latency_ms" not in d
            assert "bad.tflite" in d["error"] and d["error_type"] == "ModelFileError"
            assert d["time_utc"] and d["device"]["cpu"] and d["target"] == "cpu"
        else:
            assert d["measured"] is True and d["latency_ms"]["p50"] > 0 and "error" not in d


def test_every_row_is_saved_to_the_store_and_the_csv(mixed):
    run, tmp = mixed
    ids = [d["id"] for d in run.json()]
    stored = run_cli("results", "--db", str(tmp / "r.db"), "--json").json()
    assert [r["id"] for r in stored] == ids
    assert [r["model"] for r in stored if "error" in r] == ["bad", "bad"]
    with (tmp / "r.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == [d["model"] for d in run.json()]
    assert all(bool(r["error"]) == (r["model"] == "bad") for r in rows)
    assert all(r["p50_ms"] == "" for r in rows if r["model"] == "bad")
    history = run_cli("results", "--db", str(tmp / "r.db"), env={"COLUMNS": "200"})
    assert history.code == 0 and "failed" in history.out


def test_a_failed_result_cannot_be_compared(mixed):
    run, tmp = mixed
    good, failed = (next(d for d in run.json() if (d["model"] == "bad") == f) for f in (False, True))
    line = assert_one_line_error(run_cli("results", "compare", str(good["id"]), str(failed["id"]),
                                         "--db", str(tmp / "r.db")), 2)
    assert f"result {failed['id']} (bad) failed" in line


def test_the_table_shows_the_failure_beside_the_measurements(tmp_path, bad):
    run = run_cli("bench", INT8, bad, *FAST, "--db", str(tmp_path / "r.db"), env={"COLUMNS": "200"})
    assert_one_line_error(run, 1)
    rows = {line.split("│")[1].strip(): line for line in run.out.splitlines() if line.startswith("│")}
    assert "failed" in rows["bad"] and "failed" not in rows["tiny_int8"]
    assert any(line.startswith("failed: bad threads=1: ") and "bad.tflite" in line for line in run.out.splitlines())
    assert "saved 2 result(s)" in run.err


def test_a_model_that_cannot_run_fails_alone(tmp_path):
    """The child process refuses a dynamic-shape model: a usage error, so the run exits 2 as it would alone."""
    run = run_cli("bench", str(DATA / "tiny_dynamic.tflite"), INT8, *FAST, "--json", "--db", str(tmp_path / "r.db"))
    line = assert_one_line_error(run, 2)
    assert "1 of 2 models failed" in line and "dynamic shape" in line
    dynamic, measured = run.json()
    assert dynamic["error_type"] == "UsageError" and "fixed input size" in dynamic["error"]
    assert measured["measured"] is True and measured["latency_ms"]["p50"] > 0


def test_an_estimate_keeps_the_models_it_can_analyse(bad):
    run = run_cli("bench", INT8, bad, "--target", "rpi4", "--json")
    assert "1 of 2 models failed (1 result(s) kept): bad: " in assert_one_line_error(run, 1)
    good, failed = run.json()
    assert good["measured"] is False and good["latency_ms"]["p50"] > 0 and good["target"] == "rpi4"
    assert failed["target"] == "rpi4" and "bad.tflite" in failed["error"] and "xnnpack" not in failed
    table = run_cli("bench", INT8, bad, "--target", "rpi4", env={"COLUMNS": "200"})
    assert "est." in table.out and "failed: bad: " in table.out


def test_failures_error_counts_models_not_configs():
    from edgekit.result import Result

    def result(**doc):
        return Result.from_dict({"target": "cpu", **doc})

    ok = {"model": "a", "quant": "int8", "threads": 1}
    bad = {"model": "b", "quant": "fp32", "error": "broken", "error_type": "ModelFileError"}
    assert failures_error([result(**ok)]) is None
    err = failures_error([result(**ok), result(**bad, threads=1), result(**bad, threads=2)])
    assert str(err) == "1 of 2 models failed (1 result(s) kept): b: broken" and err.exit_code == 1
    usage = failures_error([result(**{**bad, "error_type": "UsageError"})])
    assert isinstance(usage, UsageError) and str(usage).startswith("1 of 1 model failed (0 result(s) kept)")


def test_a_zoo_model_that_fails_to_convert_fails_alone(monkeypatch):
    """A conversion that fails costs that mode only; a converter's usage error still stops the run."""
    from edgekit.app import sources
    from edgekit.app.bench import BenchRequest, run_bench
    from edgekit.errors import EdgekitError

    def convert(name: str, quant: str):
        if quant == "int8":
            raise EdgekitError(f"converting {name} to {quant} broke")
        return DATA / "tiny_fp32.tflite"

    monkeypatch.setattr(sources, "convert_zoo", convert)
    outcome = run_bench(BenchRequest(models=("mobilenet", INT8), quant="fp32,int8", target="rpi4"))
    assert [(r.model, r.quant, r.failure and r.failure.error) for r in outcome.results] == [
        ("mobilenet", "fp32", None), ("mobilenet", "int8", "converting mobilenet to int8 broke"),
        ("tiny_int8", "int8", None)]
    assert str(failures_error(outcome.results)).startswith("1 of 3 models failed (2 result(s) kept)")

    def refuse(name: str, quant: str):
        raise UsageError(f"--quant {quant} is not a mode")

    monkeypatch.setattr(sources, "convert_zoo", refuse)
    with pytest.raises(UsageError, match="is not a mode"):
        run_bench(BenchRequest(models=("mobilenet",), quant="int9", target="rpi4"))
