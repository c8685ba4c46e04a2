"""edgekit eval on digits: the JSON contract, and --tta / --ensemble with accuracy and cost multiples."""

from __future__ import annotations

import pytest

from tests._trained import evaluate, int8, trained

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.heavy]  # trains LeNet-5: CI's heavy tier


@pytest.fixture(scope="module")
def lenets(tmp_path_factory):
    first = trained(tmp_path_factory, "lenet5")
    return first, int8(first)


def test_json_is_one_result_per_model_in_the_order_given(lenets):
    results = evaluate(lenets[1], lenets[0])
    assert [r["model"] for r in results] == [str(lenets[1]), str(lenets[0])]
    for r in results:
        assert {"model", "top1", "top5", "samples", "per_class", "confusion", "seconds_per_sample", "macs"} <= set(r)
        assert r["top5"] >= r["top1"] and r["seconds_per_sample"] > 0
    assert results[0]["kind"] == "tflite" and results[1]["kind"] == "keras"


def test_tta_flip_reports_accuracy_and_cost_multiples(lenets):
    (r,) = evaluate(lenets[0], args=("--tta", "flip"))
    tta = r["tta"]
    assert tta["macs_multiple"] == 2.0 and tta["macs"] == 2 * r["macs"]
    assert tta["latency_multiple"] > 1.0
    assert 0 <= tta["top1"] <= 1 and tta["top1_gain_points"] == pytest.approx(100 * (tta["top1"] - r["top1"]), abs=1e-3)


def test_ensemble_reports_accuracy_and_cost_multiples(lenets, cli):
    results = evaluate(*lenets, args=("--ensemble",))
    assert len(results) == 3 and results[2]["model"] == "ensemble"
    ens = results[2]
    assert ens["members"] == [str(p) for p in lenets] and ens["samples"] == results[0]["samples"]
    assert ens["ensemble"]["macs_multiple"] == pytest.approx(2.0)
    assert ens["ensemble"]["latency_multiple"] > 1.0 and 0 <= ens["top1"] <= 1
    run = cli("eval", *map(str, lenets), "--data", "digits", "--tta", "flip,crop", "--ensemble",
              env={"COLUMNS": "200"})
    assert run.code == 0, run.err
    assert "accuracy gain against inference cost" in run.out and "6 views" in run.out and "2.0x" in run.out
