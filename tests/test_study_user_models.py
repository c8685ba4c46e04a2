"""The study takes any model (issue 32): zoo names, Keras files, SavedModels and .tflite files, mixed; paths keep
their case; a .tflite file is measured as it is; the report and the conclusion name user models by file stem.

Fast and TensorFlow-free: .tflite files from tests/data, the plan, and the conclusion from rows.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import DATA, run_cli
from tests.test_study_fast import _timed


def _plan(tmp_path, models: str, quants: str = "fp32,int8"):
    from edgekit.study.plan import make_plan

    return make_plan(models=models, quants=quants, targets="cpu,rpi4", hosts=None, data=None, threads=None,
                     quick=True, out=tmp_path / "out", force=False, db=None)


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "My Models"
    folder.mkdir()
    shutil.copy(DATA / "tiny_int8.tflite", folder / "Tiny_INT8.tflite")
    shutil.copy(DATA / "tiny_fp32.tflite", folder / "TinyFloat.tflite")
    return folder


def test_models_mix_zoo_names_and_files_and_keep_the_paths_case(tmp_path, files):
    plan = _plan(tmp_path, f"MobileNetV2,{files / 'Tiny_INT8.tflite'},{files / 'TinyFloat.tflite'}")
    assert plan.models == ("mobilenetv2", "Tiny_INT8", "TinyFloat")
    tiny = plan.user_model("Tiny_INT8")
    assert tiny.source == str(files / "Tiny_INT8.tflite") and tiny.quant == "int8" and not tiny.converted_here
    assert plan.quants_of("Tiny_INT8") == ("int8",) and plan.quants_of("mobilenetv2") == ("fp32", "int8")
    cells = plan.cells()
    assert [(c.quant, c.target) for c in cells if c.model == "Tiny_INT8"] == [("int8", "cpu"), ("int8", "rpi4")]
    assert [(c.quant, c.target) for c in cells if c.model == "TinyFloat"] == [("fp32", "cpu"), ("fp32", "rpi4")]
    assert len(cells) == 8
    user = plan.to_dict()["user_models"]
    assert [m["name"] for m in user] == ["Tiny_INT8", "TinyFloat"] and user[0]["converted_here"] is False


@pytest.mark.parametrize(("spelling", "needle"), [
    ("{f}/Tiny_INT8.tflite:preprocess=raw", "measured as it is, not converted"),
    ("mobilenetv2:preprocess=raw", "applies to a user's Keras model"),
    ("{f}/Tiny_INT8.tflite:colour=red", "KEY one of preprocess, calibration"),
    ("{f}/Tiny_INT8.tflite,{f}/../My Models/Tiny_INT8.tflite,{f}/TinyFloat.tflite", None),
])
def test_per_model_options_are_checked(tmp_path, files, spelling, needle):
    from edgekit.errors import UsageError

    text = spelling.format(f=files)
    if needle is None:  # one file named twice is one model
        assert _plan(tmp_path, text).models == ("Tiny_INT8", "TinyFloat")
        return
    with pytest.raises(UsageError, match=needle):
        _plan(tmp_path, text)


def test_two_files_of_one_stem_are_refused(tmp_path, files):
    from edgekit.errors import UsageError

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(DATA / "tiny_fp32.tflite", other / "Tiny_INT8.tflite")
    with pytest.raises(UsageError, match="two models 'Tiny_INT8'"):
        _plan(tmp_path, f"{files / 'Tiny_INT8.tflite'},{other / 'Tiny_INT8.tflite'}")


def test_a_missing_path_keeps_its_case_in_the_error(tmp_path):
    run = run_cli("study", "--quick", "--models", "lenet5,/nowhere/MyModel.keras", "--out", str(tmp_path / "o"),
                  "--db", str(tmp_path / "r.db"))
    assert run.code != 0 and "'/nowhere/MyModel.keras' not found" in run.err


def test_the_conclusion_and_the_report_name_user_models(tmp_path):
    from edgekit.study.report_md import sources_line
    from edgekit.study.study_row import StudyRow
    from edgekit.study.summary import titles, user_versus

    base = [3.0, 3.1, 2.9, 3.05, 2.95, 3.0]
    rows = [_timed("mobilenetv2", "int8", base), _timed("Mine", "int8", [x / 2 for x in base])]
    for r in rows:
        r["mmacs"] = 300.77 if r["model"] == "mobilenetv2" else 56.5
    plan = {"models": ["mobilenetv2", "Mine"], "targets": ["cpu"],
            "user_models": [{"name": "Mine", "kind": "tflite", "source": "models/Mine.tflite", "quant": "int8",
                             "converted_here": False, "preprocess": None, "calibration": None}]}
    lines = user_versus({"plan": plan}, [StudyRow.from_dict(r) for r in rows], titles())
    assert len(lines) == 1 and lines[0].startswith("On cpu, Mine int8 is 2.0x faster than MobileNet v2 int8")
    assert "models/Mine.tflite, measured as it is" in lines[0]
    text = sources_line(plan)
    assert "Mine (models/Mine.tflite: measured as it is, int8 as read from the file, not converted here)" in text
