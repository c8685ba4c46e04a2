"""The fidelity report says when its figures cannot inform (issue 32): flat float outputs, such as a random-weight
1000-way softmax's (about 0.001 each, below one int8 step), or outputs all equal; a normal model gets no note."""

from __future__ import annotations

import numpy as np
import pytest

from converters.fidelity import compare, flat_outputs
from tests.conftest import run_cli


def test_flat_outputs_maths():
    rng = np.random.default_rng(0)
    uniform = np.full((4, 1000), 0.001) + rng.normal(0, 1e-5, (4, 1000))
    assert "under one int8 output step" in flat_outputs(uniform, 1 / 256)
    assert flat_outputs(uniform, None) is None  # no step known, and the outputs do vary
    assert "all equal" in flat_outputs(np.zeros((3, 10)))
    same = np.tile(rng.random(10), (5, 1))
    assert "same outputs for all 5" in flat_outputs(same)
    assert flat_outputs(rng.random((5, 10)), 1 / 256) is None


def test_zero_converted_output_is_not_a_cosine_of_one():
    """The acceptance study's 'cosine 1.0000, SQNR 0.0 dB': every int8 output rounded to 0 gave cosine 1 by
    convention; a zero converted output against a non-zero float one has no direction in common."""
    f = np.full((2, 1000), 0.001)
    fid = compare(f, np.zeros_like(f), "x", step=1 / 256)
    assert fid.cosine == 0.0 and fid.sqnr_db == 0.0 and fid.flat
    assert compare(np.zeros((1, 3)), np.zeros((1, 3)), "x").cosine == 1.0


def _model(flat: bool):
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if flat:  # as keras.applications with random weights: a 1000-way softmax of near-zero logits
        dense = keras.layers.Dense(1000, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(
            stddev=1e-4))
    else:
        dense = keras.layers.Dense(5, activation="softmax")
    return keras.Model(inputs, dense(x), name="flat" if flat else "normal")


@pytest.mark.tf
@pytest.mark.parametrize("flat", [True, False], ids=["flat", "normal"])
def test_convert_reports_flat_outputs(tf, tmp_path, flat):
    path = tmp_path / ("flat.keras" if flat else "normal.keras")
    _model(flat).save(path)
    run = run_cli("convert", str(path), "--int8", "--samples", "4", "--preprocess", "unit", "--no-cache",
                  "-o", str(tmp_path / "m.tflite"), env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache"),
                                                         "COLUMNS": "100"})
    assert run.code == 0, run.err
    if flat:
        assert "these figures are not informative" in run.out and "int8 output step" in run.out, run.out
        assert "fidelity check cannot inform" in run.err
    else:
        assert "not informative" not in run.out and "cannot inform" not in run.err, run.out
