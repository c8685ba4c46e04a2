"""An image folder end to end: train, convert to int8, eval; corrupt and non-image files are skipped."""

from __future__ import annotations

import json

import pytest

from tests._digits_folder import write_digits_folder
from tests.conftest import assert_one_line_error

pytestmark = [pytest.mark.tf, pytest.mark.slow]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_digits_folder(tmp_path_factory.mktemp("folder") / "digits", per_class=40)


@pytest.fixture(scope="module")
def model(folder, tmp_path_factory):
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("folder_model") / "lenet5.keras"
    run = run_cli("train", "lenet5", "--data", str(folder), "--epochs", "20", "--seed", "7", "-o", str(out))
    assert run.code == 0, run.err[-3000:]
    return out, run


def test_train_skips_bad_files_with_a_count_and_writes_the_sidecar(model):
    out, run = model
    assert "warning: skipped 2 file(s)" in run.err and "1 corrupt" in run.err and "1 not image" in run.err
    assert "epoch  20/20" in run.err  # per-epoch progress
    doc = json.loads(out.with_name(out.name + ".json").read_text())
    assert doc["labels"] == [str(d) for d in range(10)] and doc["input_shape"] == [32, 32, 1]
    assert doc["data"]["train_samples"] + doc["data"]["val_samples"] == 400  # the 2 bad files are not in
    assert doc["data"]["seed"] == 7 and doc["preprocess"]["mean"] == [127.5]
    assert len(doc["history"]["val_accuracy"]) == 20 and doc["val_accuracy"] > 0.7


def test_train_and_validation_subsets_do_not_overlap(folder):
    from edgekit.data import DataSource
    from edgekit.models.datasets import train_val
    from edgekit.models.registry import TF_PREPROCESS

    with train_val(DataSource("folder", folder), (32, 32), 1, 0.25, 7, 32, TF_PREPROCESS) as data:
        train, val = set(data.train_files), set(data.val_files)
        assert train and val and not train & val
        assert len(train | val) == 400 and len(val) == 100
        assert sum(int(y.shape[0]) for _, y in data.val) == 100


def test_convert_to_int8_then_eval_float_and_int8(model, folder, cli):
    out, _ = model
    tflite = out.with_name("lenet5_int8.tflite")
    run = cli("convert", str(out), "--int8", "--calibration", str(folder), "-o", str(tflite), "--no-cache")
    assert run.code == 0, run.err[-2000:]
    # the class names travel from the training sidecar to the .tflite sidecar, so classify() can name them
    assert json.loads(tflite.with_name(tflite.name + ".json").read_text())["labels"] == [str(d) for d in range(10)]
    run = cli("eval", str(out), str(tflite), "--data", str(folder), "--split", "val", "--json")
    assert run.code == 0, run.err[-2000:]
    fp, q = run.json()
    assert "skipped 2 file(s)" in run.err
    assert fp["samples"] == q["samples"] == 80  # the default --val-split 0.2 recorded in the sidecar
    assert fp["top1"] > 0.7 and abs(fp["top1"] - q["top1"]) <= 0.03
    assert len(fp["confusion"]) == 10 and sum(map(sum, fp["confusion"])) == 80
    assert set(fp["per_class"]) == {str(d) for d in range(10)}


def test_eval_refuses_colour_data_for_a_grayscale_model(model, tmp_path, cli):
    rgb = write_digits_folder(tmp_path / "rgb", per_class=2, classes=10, rgb=True, junk=False)
    line = assert_one_line_error(cli("eval", str(model[0]), "--data", str(rgb)), 2)
    assert "1-channel" in line and "colour" in line
