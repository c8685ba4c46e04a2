"""Transfer learning: a pretrained base (here a weights file) frozen under a new head, then fine-tuned."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error

pytestmark = [pytest.mark.tf, pytest.mark.slow]


def test_frozen_base_then_fine_tune_from_a_layer(tmp_path, cli):
    from edgekit.models import build, load_model

    base_file = tmp_path / "base.weights.h5"
    base = build("lenet5", (32, 32, 1), include_top=False)
    base.save_weights(str(base_file))
    out = tmp_path / "tl.keras"
    run = cli("train", "lenet5", "--data", "digits", "--weights", str(base_file), "--fine-tune-at", "c3_conv",
              "--epochs", "2", "-o", str(out))
    assert run.code == 0, run.err[-3000:]
    assert "head epoch   2/2" in run.err and "fine-tune epoch   2/2" in run.err
    doc = json.loads(out.with_name(out.name + ".json").read_text())
    assert doc["history"]["phase"] == ["head", "head", "fine-tune", "fine-tune"]
    assert doc["frozen_base"] and doc["fine_tune_at"] == "c3_conv"
    model = load_model(out)
    assert model.get_layer("predictions").units == 10
    bad = assert_one_line_error(cli("train", "lenet5", "--data", "digits", "--weights", str(base_file),
                                    "--fine-tune-at", "c3_cnv", "--epochs", "1", "-o", str(tmp_path / "x.keras")), 2)
    assert "did you mean c3_conv" in bad
