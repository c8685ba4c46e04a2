"""A study goes on past a configuration it cannot measure: the failure gets a row with its error, the others
are measured, stored and reported (``bench.service.measure`` under the study). No TensorFlow: the
"conversions" are small committed .tflite files, one of which (compiled for the Edge TPU) no CPU can run."""

from __future__ import annotations

import shutil
from dataclasses import replace

from bench.store import ResultStore
from edgekit.analysis import analyze_graph, read_tflite
from edgekit.result import Kind
from tests.conftest import DATA

FILES = {"lenet5": "tiny_fp32.tflite", "mobilenetv2": "tiny_int8_edgetpu.tflite", "mobilenet": "tiny_int8.tflite"}


def _converter(tmp_path):
    from edgekit.study import collect

    def convert(_plan, _variant, model, _quant, _trained, _say, _quiet=None):
        path = tmp_path / f"{model}.tflite"
        shutil.copy(DATA / FILES[model], path)
        graph = read_tflite(path)
        cost = analyze_graph(graph, model)
        return collect.Converted(path, cost.params, cost.input_shape, cost, graph, collect.file_digest(path))

    return convert


def test_one_failing_config_of_three_leaves_the_other_two_measured_and_reported(tmp_path, monkeypatch):
    from edgekit.study import collect, plan, report, report_html, report_md, summary

    monkeypatch.setattr(plan, "QUICK", replace(plan.QUICK, runs=2, min_seconds=0.01, rounds=2, budget=1.0,
                                               warmup_seconds=0.05))

    monkeypatch.setattr(collect, "_convert", _converter(tmp_path))
    study = plan.StudyPlan(models=tuple(FILES), quants=("fp32",), targets=("cpu",), quick=True, out=tmp_path / "out")
    store, seen = ResultStore(tmp_path / "r.db"), []
    out = collect.collect(study, store, lambda cell, what: seen.append((cell.model, what)), lambda _text: None)

    assert sorted(seen) == [("lenet5", "measured"), ("mobilenet", "measured"), ("mobilenetv2", "failed")]
    assert (out.new_measurements, out.failures) == (2, 1)
    kinds = {r.model: r.result.kind for r in out.rows}
    assert kinds == {"lenet5": Kind.MEASURED, "mobilenetv2": Kind.FAILED, "mobilenet": Kind.MEASURED}
    failed = next(r for r in out.rows if r.model == "mobilenetv2")
    assert "edgetpu-custom-op" in failed.result.failure.error and "study_key" not in failed.result.extra  # a re-run
    # tries it again
    stored = [r.to_dict() for r in store.last(10)]
    assert len(stored) == 3 and sum("study_key" in r for r in stored) == 2

    doc = summary.document(study, out, {}, 1.0)
    md = report_md.markdown(doc, [])
    table = [line for line in md.splitlines() if line.startswith("| lenet5") or line.startswith("| mobilenet")]
    assert len(table) == 3
    measured = [line for line in table if "| measured |" in line]
    assert [line.split(" | ")[0] for line in measured] == ["| lenet5", "| mobilenet"]
    for line in measured:
        assert float(line.split(" | ")[8].removesuffix(" 2 rounds, no interval")) > 0  # its p50 (issue 32)
    (failed_line,) = [line for line in table if "| failed |" in line]
    assert failed_line.startswith("| mobilenetv2 |")
    assert "- failed: mobilenetv2 fp32 on cpu: " in md and "edgetpu-custom-op" in md
    assert doc["counts"]["failed"] == 1 and "failed" in report_html.html_page(doc, {})
    assert len(report.csv_text(doc["rows"], doc["published_imagenet_top1"]).splitlines()) == 4


def test_an_estimate_that_fails_fails_alone(tmp_path, monkeypatch):
    import targets.estimate
    from edgekit.errors import ModelFileError
    from edgekit.study import collect, plan, report_md, summary

    real = targets.estimate.estimate_bench

    def estimate(path, target, threads=None, model=None, quant=None):
        if model == "mobilenet":
            raise ModelFileError(f"{path} cannot be analysed (injected)")
        return real(path, target, threads, model=model, quant=quant)

    monkeypatch.setattr(targets.estimate, "estimate_bench", estimate)
    monkeypatch.setattr(collect, "_convert", _converter(tmp_path))
    study = plan.StudyPlan(models=("lenet5", "mobilenet"), quants=("fp32",), targets=("rpi4",), quick=True)
    seen = []
    out = collect.collect(study, ResultStore(tmp_path / "r.db"), lambda cell, what: seen.append((cell.model, what)),
                          lambda _text: None)
    assert seen == [("lenet5", "estimated"), ("mobilenet", "failed")] and (out.estimates, out.failures) == (1, 1)
    assert [r.result.kind for r in out.rows] == [Kind.ESTIMATED, Kind.FAILED]
    md = report_md.markdown(summary.document(study, out, {}, 1.0), [])
    assert "- failed: mobilenet fp32 on rpi4: " in md and "(injected)" in md


def test_a_device_that_refuses_fails_its_cells_and_the_rest_is_measured(tmp_path, monkeypatch, ssh_world):
    """Over real ssh (tests/sshd.py): the device given for rpi4 is this machine, so identity refuses it before
    measuring; its cells get that error and the cpu cells are measured."""
    from edgekit.study import collect, plan

    ssh_world.server("dev-a")
    for key, value in ssh_world.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(plan, "QUICK", replace(plan.QUICK, runs=2, min_seconds=0.01, rounds=2, budget=1.0,
                                               warmup_seconds=0.05))
    monkeypatch.setattr(collect, "_convert", _converter(tmp_path))
    study = plan.StudyPlan(models=("lenet5", "mobilenet"), quants=("fp32",), targets=("cpu", "rpi4"),
                           hosts={"rpi4": "dev-a"}, quick=True)
    seen = []
    out = collect.collect(study, ResultStore(tmp_path / "r.db"), lambda cell, what: seen.append((cell, what)),
                          lambda _text: None)
    kinds = [(r.model, r.target, r.result.kind) for r in out.rows]
    assert kinds == [("lenet5", "cpu", Kind.MEASURED), ("lenet5", "rpi4", Kind.FAILED),
                     ("mobilenet", "cpu", Kind.MEASURED), ("mobilenet", "rpi4", Kind.FAILED)]
    for r in out.rows[1::2]:
        error = r.result.failure.error
        assert error.startswith("dev-a is ") and "not a Raspberry Pi 4" in error, error
    assert (out.new_measurements, out.failures) == (2, 2)


def test_the_study_command_writes_the_report_then_names_what_failed(tmp_path, monkeypatch):
    """``edgekit study`` itself: the report is written with the two measured rows and the failed one, and the
    command then ends with one error naming the failure (exit 1), as edgekit bench does."""
    import pytest

    from edgekit.cli.study import study
    from edgekit.errors import EdgekitError
    from edgekit.study import collect, facts, plan
    from tests._study import table_lines

    monkeypatch.setenv("EDGEKIT_BENCH_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(plan, "QUICK", replace(plan.QUICK, runs=2, min_seconds=0.01, rounds=2, budget=1.0,
                                               warmup_seconds=0.05))
    monkeypatch.setattr(collect, "_convert", _converter(tmp_path))
    monkeypatch.setattr(facts, "BREAKDOWN_MODELS", ("mobilenetv2",))  # from its .tflite, no Keras build
    out = tmp_path / "out"
    with pytest.raises(EdgekitError) as err:
        study(out=out, models=",".join(FILES), quant="fp32", targets="cpu", quick=True, db=tmp_path / "r.db")
    assert type(err.value) is EdgekitError and err.value.exit_code == 1
    assert str(err.value).startswith("1 of 3 configuration(s) failed (the report has the others and these "
                                     "errors): mobilenetv2 fp32 on cpu: ") and "edgetpu-custom-op" in str(err.value)
    rows = table_lines((out / "report.md").read_text())[2:]
    assert [r.split(" | ")[0] + " | " + r.split(" | ")[4] for r in rows] == [
        "| lenet5 | measured", "| mobilenetv2 | failed", "| mobilenet | measured"]
