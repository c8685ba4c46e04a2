"""``--preprocess`` read from a Keras model's own first layers (issue 32): a model that starts with Rescaling or
Normalization is converted as ``raw`` with a one-line notice naming the layer; one without still asks, and the
message says what its first layer suggests."""

from __future__ import annotations

import json
import zipfile

import pytest

from converters.own_preprocess import own_preprocess
from tests.conftest import assert_one_line_error, run_cli


def _keras_file(tmp_path, layers: list[dict]):
    """A .keras file holding only a config (what own_preprocess reads), no TensorFlow needed."""
    path = tmp_path / "m.keras"
    config = {"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "config": {}}, *layers]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
    return path


@pytest.mark.parametrize(("layer", "preset", "words"), [
    ({"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 1 / 255, "offset": 0.0}}, "raw",
     "'rescaling' (Rescaling 1/255)"),
    ({"class_name": "Rescaling", "config": {"name": "r", "scale": 1 / 127.5, "offset": -1.0}}, "raw",
     "(Rescaling 1/127.5, offset -1)"),
    ({"class_name": "Rescaling", "config": {"name": "r", "scale": 2.0, "offset": -1.0}}, "unit", "[0, 1]"),
    ({"class_name": "Normalization", "config": {"name": "n", "mean": [123.7, 116.3, 103.5]}}, "raw", "0..255"),
    ({"class_name": "Normalization", "config": {"name": "n", "mean": None}}, None, "adapted"),
    ({"class_name": "Conv2D", "config": {"name": "conv"}}, None, "no scaling of its own"),
    ({"class_name": "Sequential", "config": {"layers": [  # a keras.applications base inside a user's model
        {"class_name": "InputLayer", "config": {}},
        {"class_name": "Rescaling", "config": {"name": "inner", "scale": 1 / 255}}]}}, "raw", "'inner'"),
])
def test_first_layer_decides(tmp_path, layer, preset, words):
    own = own_preprocess(_keras_file(tmp_path, [layer]))
    assert own.preset == preset and words in own.why, own


def test_unreadable_config_decides_nothing(tmp_path):
    (tmp_path / "x.keras").write_bytes(b"not a zip")
    assert own_preprocess(tmp_path / "x.keras") is None


def _save(tmp_path, rescaling: bool):
    import keras

    keras.utils.set_random_seed(2)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255, name="rescaling")(inputs) if rescaling else inputs
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2d")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    path = tmp_path / ("scaled.keras" if rescaling else "plain.keras")
    keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x)).save(path)
    return path


@pytest.mark.tf
def test_convert_infers_raw_from_rescaling(tf, tmp_path):
    run = run_cli("convert", str(_save(tmp_path, True)), "--int8", "--samples", "4", "--no-cache", "--json",
                  "-o", str(tmp_path / "m.tflite"), env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 0, run.err
    assert ("preprocess raw: the model's first layer 'rescaling' (Rescaling 1/255) does its own scaling"
            in run.err), run.err
    assert run.json()["metadata"]["preprocess"]["std"] == [1.0]  # raw: 0..255 as is


@pytest.mark.tf
def test_convert_without_preprocessing_layers_still_asks(tf, tmp_path):
    run = run_cli("convert", str(_save(tmp_path, False)), "--int8", "-o", str(tmp_path / "m.tflite"))
    line = assert_one_line_error(run, 2)
    assert "--preprocess" in line and "'conv2d' (Conv2D) does no scaling of its own: unit if" in line, line
