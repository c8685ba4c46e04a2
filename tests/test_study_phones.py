"""The study takes phone targets: estimated without a serial (every cell "est." with the phone family's error,
the cores it assumed, and no energy or GPU figure, said plainly), measured over adb with --serial TARGET=SERIAL
(tests/test_adb.py). No TensorFlow: the "conversion" is a small committed .tflite file."""

from __future__ import annotations

import json
import shutil

import pytest

from bench.store import ResultStore
from edgekit.analysis import analyze_graph, read_tflite
from tests._study import check_report_matches
from tests.conftest import DATA, assert_one_line_error, run_cli


def converter(tmp_path, source=DATA / "tiny_int8.tflite"):
    """What ``edgekit.study.collect._convert`` returns, from a committed file instead of TensorFlow."""
    from edgekit.study import collect

    def convert(_plan, _variant, model, quant, _trained, _say, _quiet=None):
        path = tmp_path / f"{model}_{quant}.tflite"
        shutil.copy(source, path)
        graph = read_tflite(path)
        cost = analyze_graph(graph, model)
        return collect.Converted(path, cost.params, cost.input_shape, cost, graph, collect.file_digest(path))

    return convert


def test_a_one_model_study_estimates_a_phone_and_reports_it(tmp_path, monkeypatch):
    from edgekit.study import collect, plan, report, summary

    monkeypatch.setattr(collect, "_convert", converter(tmp_path))
    study = plan.make_plan(models="mobilenetv2", quants="int8", targets="rpi4,pixel4", hosts=None, data=None,
                           threads=None, quick=True, out=tmp_path / "out", force=False, db=tmp_path / "r.db")
    assert study.method("pixel4").value == "estimate" and collect.threads_for(study, "pixel4") == 4  # big cores
    out = collect.collect(study, ResultStore(tmp_path / "r.db"), lambda cell, what: None, lambda _text: None)
    doc = summary.document(study, out, {}, 1.0)
    report.write(study.out, doc, False)

    md = (study.out / "report.md").read_text()
    check_report_matches(json.loads((study.out / "results.json").read_text()), md)
    phone = next(r.to_dict() for r in doc["rows"] if r.target == "pixel4")
    assert not phone["measured"] and phone["expected_error_pct"] > 0 and phone["threads"] == 4
    assert phone["device"]["soc"] == "Snapdragon 855" and len(phone["device"]["cores_assumed"]) == 4
    row = next(line for line in md.splitlines() if line.startswith("| mobilenetv2 |") and "| pixel4 |" in line)
    assert f"±{phone['expected_error_pct']}% est." in row and "| estimated |" in row
    (line,) = [x for x in md.splitlines() if x.startswith("- phone pixel4:")]
    assert "Cortex-A76 @ 2.84 GHz" in line and "no GPU estimate" in line and "no energy estimate" in line
    assert "phone pixel4:" in (study.out / "report.html").read_text()
    assert (study.out / "latency_vs_macs.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "needle"), [
    (("--targets", "cpu,pixel4", "--serial", "pixel4"), "TARGET=SERIAL"),
    (("--targets", "cpu,pixel4", "--serial", "rpi4=X"), "not a phone"),
    (("--targets", "cpu,pixel4", "--serial", "pixel3=X"), "not in --targets"),
    (("--targets", "cpu,pixel4", "--serial", "pixel4=X"), "--benchmark-binary"),
    (("--targets", "cpu,pixel4", "--host", "pixel4=pi@x"), "--serial pixel4=SERIAL"),
    (("--targets", "cpu,android"), "--targets android measures a phone as what it is"),
    (("--targets", "cpu,pixel4", "--serial", "pixel4=X", "--benchmark-binary", str(DATA / "tiny_int8.tflite")),
     "not an arm64 ELF"),
])
def test_bad_phone_input_is_one_line(tmp_path, args, needle):
    run = run_cli("study", "--quick", "--models", "lenet5", "--out", str(tmp_path / "out"), "--db",
                  str(tmp_path / "r.db"), *args)
    assert needle in assert_one_line_error(run, 2)
    assert not (tmp_path / "out").exists()
