"""Acceptance on digits' held-out test set: trained with edgekit's defaults, evaluated by edgekit eval.

LeNet-5 float >= 97% top-1 and int8 within 1 point; MobileNet v1 (alpha 0.25) and v2 (alpha 0.35) at 32x32
from scratch >= 95% and int8 within 2 points; a ResNet-18 baseline on the same data.
"""

from __future__ import annotations

import json

import pytest

from tests._trained import evaluate, int8, trained

pytestmark = [pytest.mark.tf, pytest.mark.slow]


@pytest.mark.parametrize(("model", "args", "floor", "int8_tolerance"), [
    pytest.param("lenet5", (), 0.97, 0.01, marks=pytest.mark.heavy),  # 15 s; test_train_folder trains by default
    pytest.param("mobilenet", ("--input-size", "32", "--alpha", "0.25"), 0.95, 0.02, marks=pytest.mark.heavy),
    pytest.param("mobilenetv2", ("--input-size", "32", "--alpha", "0.35"), 0.95, 0.02, marks=pytest.mark.heavy),
])
def test_default_recipe_reaches_the_acceptance_accuracy(tmp_path_factory, model, args, floor, int8_tolerance):
    keras_path = trained(tmp_path_factory, model, *args)
    doc = json.loads(keras_path.with_name(keras_path.name + ".json").read_text())
    assert doc["model"] == model and doc["labels"] == [str(d) for d in range(10)]
    assert len(doc["history"]["val_accuracy"]) == doc["recipe"]["epochs"] and doc["val_accuracy"] > 0.9
    tflite = int8(keras_path)
    fp, q = evaluate(keras_path, tflite)
    assert (fp["model"], q["model"]) == (str(keras_path), str(tflite))
    assert fp["samples"] == q["samples"] == 359  # digits' fixed held-out 20%
    assert fp["top1"] >= floor, fp
    assert abs(fp["top1"] - q["top1"]) <= int8_tolerance, (fp["top1"], q["top1"])


@pytest.mark.heavy
def test_resnet18_baseline_costs_more_on_the_same_data(tmp_path_factory):
    resnet = trained(tmp_path_factory, "resnet18", "--input-size", "32", "--epochs", "4")
    lenet = trained(tmp_path_factory, "lenet5")
    r, le = evaluate(resnet, lenet)
    assert r["samples"] == le["samples"] and r["top1"] > 0.8
    assert r["macs"] > 50 * le["macs"]
