"""edgekit on models nobody here built: ``info``, ``check`` and ``bench`` over the 14 ``.tflite`` files in
MediaPipe 0.10.14's wheel (``tests/mediapipe_corpus.py``).

The corpus is fetched from PyPI once and cached; if it cannot be fetched these tests FAIL with pip's reason,
they never skip. Slow (about a minute in all: 29 edgekit processes and 14 benchmark children), so in the default
suite under ``slow``.
"""

from __future__ import annotations

import csv

import pytest

from tests.conftest import run_cli
from tests.mediapipe_corpus import MODELS, CorpusUnavailable, corpus

pytestmark = pytest.mark.slow

# MediaPipe's own TFLite custom ops (mediapipe/util/tflite/operations/: landmarks_to_transform_matrix.cc,
# transform_landmarks.cc, transform_tensor_bilinear.cc, transpose_conv_bias.cc), which these files use.
CUSTOM_OPS = {
    "face_landmark_with_attention": {"Landmarks2TransformMatrix", "TransformLandmarks", "TransformTensorBilinear"},
    "selfie_segmentation": {"Convolution2DTransposeBias"},
    "selfie_segmentation_landscape": {"Convolution2DTransposeBias"},
}
FAST = ("--runs", "3", "--min-seconds", "0", "--warmup", "0")
WIDE = {"COLUMNS": "200"}  # table cells are not cut, so op names can be read from the text


@pytest.fixture(scope="module")
def models():
    try:
        return corpus()
    except CorpusUnavailable as err:
        pytest.fail(f"the MediaPipe corpus is needed and could not be fetched: {err}", pytrace=False)


def _loads_in_litert(path) -> str | None:
    """None when LiteRT itself can load and allocate the model, else its error: the ground truth of "can run"."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_path=str(path)).allocate_tensors()
    except (RuntimeError, ValueError) as err:
        return str(err)
    return None


def _no_crash(run) -> None:
    assert "Traceback" not in run.err + run.out, run.err[-2000:]


def test_the_corpus_is_the_14_published_models(models):
    assert [p.stem for p in models] == list(MODELS)
    assert all(p.stat().st_size > 100_000 for p in models)


@pytest.mark.parametrize("name", MODELS)
def test_info_reads_every_model_and_names_its_custom_ops(models, name):
    path = models[MODELS.index(name)]
    run = run_cli("info", str(path), "--json")
    _no_crash(run)
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["params"] > 0 and doc["file_bytes"] == path.stat().st_size
    types = {layer["type"] for layer in doc["layers"]}
    assert CUSTOM_OPS.get(name, set()) <= types
    if name in CUSTOM_OPS:
        text = run_cli("info", str(path), "--layers", env=WIDE)
        _no_crash(text)
        assert text.code == 0 and all(op in text.out for op in CUSTOM_OPS[name]), text.out[-3000:]


@pytest.mark.parametrize("name", MODELS)
def test_check_coral_answers_for_every_model(models, name):
    path = models[MODELS.index(name)]
    run = run_cli("check", str(path), "--target", "coral-usb", "--json")
    _no_crash(run)
    assert run.code in (0, 1), run.err  # compatible or not; never "could not check"
    doc = run.json()
    assert doc["ops_total"] == len(doc["ops"]) > 0
    custom = [o for o in doc["ops"] if o["opcode"] in CUSTOM_OPS.get(name, ())]
    assert {o["opcode"] for o in custom} == CUSTOM_OPS.get(name, set())
    assert not any(o["on_tpu"] for o in custom)  # only the compiler's edgetpu-custom-op runs on the TPU


def test_bench_all_14_in_one_command_measures_what_runs_and_reports_the_rest(models, tmp_path):
    db, out_csv = tmp_path / "r.db", tmp_path / "r.csv"
    run = run_cli("bench", *map(str, models), *FAST, "--json", "--db", str(db), "--csv", str(out_csv))
    _no_crash(run)
    expected_errors = {p.stem: _loads_in_litert(p) for p in models}
    failing = [m for m, e in expected_errors.items() if e is not None]
    assert "face_landmark_with_attention" in failing  # its custom ops are MediaPipe's, not LiteRT's
    assert run.code == 1, run.err
    docs = run.json()
    assert [d["model"] for d in docs] == list(MODELS)
    for d in docs:
        if d["model"] in failing:
            assert d["measured"] is False and d["error"] and "latency_ms" not in d, d
        else:
            assert d["measured"] is True and "error" not in d, d
            assert 0 < d["latency_ms"]["min"] <= d["latency_ms"]["p50"] and d["runs"] >= 3
    by_model = {d["model"]: d for d in docs}
    assert "Landmarks2TransformMatrix is a custom op" in by_model["face_landmark_with_attention"]["error"]
    last = run.err.strip().splitlines()[-1]
    assert last.startswith(f"edgekit: error: {len(failing)} of 14 models failed ({14 - len(failing)} result(s) "
                           "kept): face_landmark_with_attention: "), run.err

    stored = run_cli("results", "--db", str(db), "--last", "50", "--json")
    assert stored.code == 0, stored.err
    rows = stored.json()
    assert [r["model"] for r in rows] == list(MODELS) and len({r["run_id"] for r in rows}) == 1
    assert sorted(r["model"] for r in rows if "error" in r) == sorted(failing)
    with out_csv.open() as f:
        table = list(csv.DictReader(f))
    assert [r["model"] for r in table] == list(MODELS)
    assert sorted(r["model"] for r in table if r["error"]) == sorted(failing)
    assert all(float(r["p50_ms"]) > 0 for r in table if not r["error"])


def test_bench_estimate_of_all_14_keeps_every_row(models):
    run = run_cli("bench", *map(str, models), "--target", "rpi4", "--json")
    _no_crash(run)
    docs = run.json()
    assert [d["model"] for d in docs] == list(MODELS)
    assert all(d["measured"] is False for d in docs)
    failed = [d for d in docs if "error" in d]
    assert all(d["latency_ms"]["p50"] > 0 for d in docs if "error" not in d)
    assert run.code == (1 if failed else 0), run.err
