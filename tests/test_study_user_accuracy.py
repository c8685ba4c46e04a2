"""Accuracy rows for the user's own models with --data (issue 32): scored as given, with edgekit eval's evaluator,
when the model's output width equals the data's label count; else one warning and "not measured" rows.

Tiny Keras models (8x8x1 digits, a Rescaling first layer) trained one epoch here, converted in this process
(no child), and targets that are estimated (rpi4 without --host), so that nothing is timed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import DATA, run_cli

pytestmark = [pytest.mark.tf, pytest.mark.usefixtures("tf")]


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """``tiny10.keras`` (10 outputs, one epoch on digits' training pool) and ``tiny3.keras`` (3 outputs)."""
    from edgekit.data import digits
    from edgekit.models._keras import keras

    k = keras()
    folder = tmp_path_factory.mktemp("user_models")
    k.utils.set_random_seed(0)
    x, y = digits.pixels((8, 8))[digits.split().pool], digits.labels()[digits.split().pool]
    for name, width in (("tiny10", 10), ("tiny3", 3)):
        model = k.Sequential([k.Input((8, 8, 1)), k.layers.Rescaling(1 / 255), k.layers.Flatten(),
                              k.layers.Dense(width, activation="softmax")])
        if width == 10:
            model.compile("adam", "sparse_categorical_crossentropy")
            model.fit(x, y, epochs=1, batch_size=64, verbose=0)
        model.save(folder / f"{name}.keras")
    return folder


@pytest.fixture
def study_env(tmp_path, monkeypatch):
    """Caches in tmp_path; conversions in this process (TensorFlow is loaded already)."""
    import converters.isolated
    from converters import convert

    monkeypatch.setenv("EDGEKIT_BENCH_DIR", str(tmp_path / "bench"))
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(converters.isolated, "convert_in_child",
                        lambda model, mode, quiet=None, **kw: convert(model, mode, **kw))
    return tmp_path


def _study(tmp_path, models: str, quants: str = "fp32,int8"):
    from bench.store import ResultStore
    from edgekit.study import collect
    from edgekit.study.plan import make_plan

    plan = make_plan(models=models, quants=quants, targets="rpi4", hosts=None, data="digits", threads=None,
                     quick=True, out=tmp_path / "out", force=False, db=None)
    said: list[str] = []
    out = collect.collect(plan, ResultStore(tmp_path / "r.db"), lambda cell, what: None, said.append)
    return plan, out, said


def _report(plan, out) -> str:
    from edgekit.study import report_md, summary

    return report_md.markdown(summary.document(plan, out, {}, 1.0), [])


def _eval_top1(tmp_path, path) -> float:
    """What `edgekit eval PATH --data digits` reports, in percent."""
    run = run_cli("eval", str(path), "--data", "digits", "--json", cwd=tmp_path)
    assert run.code == 0, run.err
    return round(100 * json.loads(run.out)[0]["top1"], 2)


@pytest.mark.heavy  # trains a model and converts it twice (7 s); the .tflite case stays in the default suite
def test_a_keras_user_model_with_10_outputs_gets_accuracy_rows_as_edgekit_eval_reports(keras_files, study_env):
    tmp_path = study_env
    plan, out, said = _study(tmp_path, str(keras_files / "tiny10.keras"))
    rows = {r.quant: r for r in out.rows if r.model == "tiny10"}
    assert set(rows) == {"fp32", "int8"}
    for quant, row in rows.items():
        assert 0 <= row.accuracy_pct <= 100, row.accuracy_note
        assert "as given, not trained here" in row.accuracy_note
        tflite = out.conversions[("zoo", "tiny10", quant)].path
        assert row.accuracy_pct == _eval_top1(tmp_path, tflite)  # edgekit eval's evaluator, same number
    user = out.user_accuracy["tiny10"]
    assert user["mismatch"] is None and user["float_accuracy_pct"] == _eval_top1(tmp_path, keras_files / "tiny10.keras")
    assert not [s for s in said if "not measured" in s]

    md = _report(plan, out)
    assert "accuracy on digits evaluated as given, not trained here" in md
    assert "of its accuracy" in md and "top-1 on digits, tiny10 as given)" in md  # the conclusion uses it
    assert f"the Keras model in float {user['float_accuracy_pct']}%" in md
    table = [line for line in md.splitlines() if line.startswith("| tiny10 |")]
    assert len(table) == 2
    assert all(f"| {rows[q].accuracy_pct} |" in line for q, line in zip(rows, table, strict=True))


def test_a_model_whose_outputs_do_not_match_the_labels_is_warned_once_and_not_measured(keras_files, study_env):
    tmp_path = study_env
    plan, out, said = _study(tmp_path, str(keras_files / "tiny3.keras"))
    warnings = [s for s in said if "tiny3 gives 3 outputs but digits has 10 labels" in s]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert [r.accuracy_pct for r in out.rows] == [None, None]
    assert all(r.accuracy_note == "not measured: tiny3 gives 3 outputs but digits has 10 labels" for r in out.rows)
    md = _report(plan, out)
    assert "accuracy not measured: tiny3 gives 3 outputs but digits has 10 labels" in md
    assert all("| not measured |" in line for line in md.splitlines() if line.startswith("| tiny3 |"))


def test_a_tflite_user_model_with_10_outputs_is_scored_as_it_is(study_env):
    tmp_path = study_env
    shutil.copy(DATA / "tiny_fp32.tflite", tmp_path / "Given.tflite")  # 16x16x3 in, 10 out, no sidecar
    plan, out, _ = _study(tmp_path, str(tmp_path / "Given.tflite"))
    (row,) = out.rows
    assert 0 <= row.accuracy_pct <= 100 and row.accuracy_pct == _eval_top1(tmp_path, tmp_path / "Given.tflite")
    assert "float_accuracy_pct" not in out.user_accuracy["Given"]  # no Keras model: the file as it is
    assert "measured as it is" in _report(plan, out)


def test_edgekit_eval_asks_for_preprocess_only_when_a_keras_model_cannot_say(tmp_path):
    from edgekit.models._keras import keras

    k = keras()
    bare = k.Sequential([k.Input((8, 8, 1)), k.layers.Flatten(), k.layers.Dense(10, activation="softmax")])
    bare.save(tmp_path / "bare.keras")
    run = run_cli("eval", str(tmp_path / "bare.keras"), "--data", "digits", cwd=tmp_path)
    assert run.code != 0 and "give --preprocess" in run.err and len(run.err.strip().splitlines()) == 1
    run = run_cli("eval", str(tmp_path / "bare.keras"), "--data", "digits", "--preprocess", "unit", "--json",
                  cwd=tmp_path)
    assert run.code == 0 and 0 <= json.loads(run.out)[0]["top1"] <= 1
