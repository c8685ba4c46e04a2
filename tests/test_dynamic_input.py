"""A Keras file saved with an unknown (None x None) input: --input-size fixes it for info and convert."""

from __future__ import annotations

import pytest

from edgekit.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli

pytestmark = [pytest.mark.tf, pytest.mark.usefixtures("tf")]

# conv 3x3 (3 -> 4 channels, valid) on NxN, global average pool, dense 4 -> 2
def _macs(n: int) -> int:
    return (n - 2) * (n - 2) * 4 * 3 * 3 * 3 + 4 * 2


@pytest.fixture
def dynamic_keras(tmp_path):
    import keras

    x = keras.Input((None, None, 3))
    y = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x)))
    path = tmp_path / "dyn.keras"
    keras.Model(x, y).save(path)
    return path


def test_cost_at_the_size_given(dynamic_keras):
    from edgekit.app.cost import cost_of

    report = cost_of(str(dynamic_keras), input_size=32)
    assert report.macs == _macs(32)  # 30*30*4*27 + 8 = 97,208
    assert report.input_shape == (32, 32, 3)
    assert report.params == (3 * 3 * 3 * 4 + 4) + (4 * 2 + 2)


def test_without_a_size_the_message_says_what_to_pass(dynamic_keras):
    from edgekit.app.cost import cost_of

    with pytest.raises(UsageError, match=r"input size is unknown \(None x None\); pass --input-size N"):
        cost_of(str(dynamic_keras))


def test_a_fixed_size_cannot_be_changed(tmp_path):
    import keras

    from edgekit.app.cost import cost_of

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    model.save(tmp_path / "fixed.keras")
    assert cost_of(str(tmp_path / "fixed.keras"), input_size=8).macs == 6 * 6 * 4 * 27
    with pytest.raises(UsageError, match="fixed at 8x8"):
        cost_of(str(tmp_path / "fixed.keras"), input_size=16)


def test_cli_info_and_convert(dynamic_keras, tmp_path):
    line = assert_one_line_error(run_cli("info", str(dynamic_keras)), code=2)
    assert "pass --input-size N" in line
    run = run_cli("info", str(dynamic_keras), "--input-size", "24", "--json")
    assert run.code == 0, run.err
    assert run.json()["macs"] == _macs(24)
    out = tmp_path / "dyn.tflite"
    run = run_cli("convert", str(dynamic_keras), "--preprocess", "unit", "--input-size", "24", "-o", str(out),
                  "--no-cache", "--json", env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 0, run.err
    from edgekit.analysis import analyze_tflite

    assert analyze_tflite(out).input_shape == (24, 24, 3)


def test_savedmodel_with_an_unknown_size(tmp_path):
    import keras

    from edgekit.app.cost import cost_of

    x = keras.Input((None, None, 3))
    keras.Model(x, keras.layers.Conv2D(4, 3)(x)).export(str(tmp_path / "sm"), verbose=False)
    with pytest.raises(UsageError, match=r"unknown \(None x None\); pass --input-size N"):
        cost_of(str(tmp_path / "sm"))
    assert cost_of(str(tmp_path / "sm"), input_size=16).macs == 14 * 14 * 4 * 27


def test_convert_takes_input_size_on_a_savedmodel_as_info_does(tmp_path, monkeypatch):
    """--input-size on a SavedModel is decided once (edgekit.models.ref): info and convert both accept it."""
    import keras

    from converters import convert
    from edgekit.analysis import analyze_tflite

    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    x = keras.Input((None, None, 3))
    keras.Model(x, keras.layers.Conv2D(4, 3)(x)).export(str(tmp_path / "sm"), verbose=False)
    with pytest.raises(UsageError, match="one fixed-size"):
        convert(str(tmp_path / "sm"), "fp32", output=tmp_path / "none.tflite", preprocess="unit", use_cache=False)
    out = convert(str(tmp_path / "sm"), "int8", output=tmp_path / "sm16.tflite", preprocess="unit", input_size=16,
                  use_cache=False, samples=4)
    assert analyze_tflite(out.path).input_shape == (16, 16, 3)
    assert analyze_tflite(out.path).macs == 14 * 14 * 4 * 27  # what info counts at --input-size 16
