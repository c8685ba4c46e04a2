"""User models: a .keras file and a SavedModel calibrated from an image folder, a LeNet-5 trained here on real
digits whose int8 accuracy must stay within a point of float, --per-layer, and --edgetpu."""

from __future__ import annotations

import os

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from converters import calibration as cal
from tests.conftest import run_cli

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def user_models(tmp_path_factory, tf):
    """A small RGB classifier saved as .keras and as a SavedModel, and a folder of real photos."""
    import keras

    d = tmp_path_factory.mktemp("user")
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x), name="tiny")
    model.save(d / "tiny.keras")
    model.export(str(d / "tiny_saved"), verbose=False)
    images = d / "images" / "nested"
    images.mkdir(parents=True)
    for i, px in enumerate(cal.photos((48, 64), 12, 7).astype(np.uint8)):
        Image.fromarray(px).save(images / f"photo{i}.{'png' if i % 2 else 'jpg'}")
    Image.fromarray(px[..., 0]).save(d / "images" / "grey.bmp")
    (d / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return d


@pytest.mark.parametrize("name", ["tiny.keras", "tiny_saved"])
def test_user_model_converts_with_an_image_folder(user_models, name):
    d = user_models
    out = d / f"{name}.int8.tflite"
    run = run_cli("convert", str(d / name), "--int8", "--calibration", str(d / "images"), "--samples", "8",
                  "--preprocess", "unit", "-o", str(out), "--no-cache", "--json",
                  env={"EDGEKIT_CACHE_DIR": str(d / "cache")})
    assert run.code == 0, run.err
    doc = run.json()  # stdout is exactly one JSON document
    it = Interpreter(model_path=str(out))
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8
    side = doc["metadata"]
    assert side["source"]["kind"] == ("keras" if name.endswith(".keras") else "savedmodel")
    assert side["calibration"] == {"source": str(d / "images"), "samples": 8,
                                   "held_out_source": str(d / "images"), "held_out": 5}
    assert side["preprocess"]["std"] == [255.0]
    assert doc["fidelity"]["samples"] == 5 and doc["fidelity"]["cosine"] > 0.95
    assert any("skipped 1 unreadable" in w for w in doc["warnings"]), doc["warnings"]
    assert any("converted 1 grayscale image(s) to RGB" in w for w in doc["warnings"])
    assert "skipped 1 unreadable" in run.err  # and said at the time, on stderr


def test_user_model_needs_preprocessing_for_int8(user_models):
    from tests.conftest import assert_one_line_error

    run = run_cli("convert", str(user_models / "tiny.keras"), "--int8", "-o", str(user_models / "x.tflite"))
    assert "--preprocess" in assert_one_line_error(run, 2)
    assert not (user_models / "x.tflite").exists()


@pytest.fixture(scope="module")
def lenet(tmp_path_factory, tf):
    """LeNet-5 trained on scikit-learn's digits (about 5 s), and held-out digits it never saw."""
    import keras

    from edgekit.models import build

    pixels, labels = cal.digits_pixels((32, 32))
    order = np.random.default_rng(1).permutation(len(pixels))
    train, test = order[:1300], order[1300:]
    keras.utils.set_random_seed(0)
    model = build("lenet5")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(pixels[train] / 255.0, labels[train], epochs=12, batch_size=32, verbose=0)
    d = tmp_path_factory.mktemp("lenet")
    model.save(d / "lenet.keras")
    float_acc = float((model.predict(pixels[test] / 255.0, verbose=0).argmax(1) == labels[test]).mean())
    return d, pixels[test], labels[test], float_acc


def test_lenet_int8_is_within_one_point_of_float(lenet):
    from converters import QuantConfig, convert

    d, x, y, float_acc = lenet
    os.environ["EDGEKIT_CACHE_DIR"] = str(d / "cache")
    r = convert(d / "lenet.keras", QuantConfig("int8", per_layer=True), calibration="digits", samples=100,
                preprocess="unit", output=d / "lenet_int8.tflite")
    it = Interpreter(model_path=str(r.path))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zero = inp["quantization"]
    preds = []
    for img in x / 255.0:
        it.set_tensor(inp["index"], np.clip(np.round(img[None] / scale + zero), -128, 127).astype(np.int8))
        it.invoke()
        preds.append(int(it.get_tensor(out["index"]).argmax()))
    int8_acc = float((np.array(preds) == y).mean())
    assert float_acc > 0.9, float_acc  # the model really learned
    assert abs(float_acc - int8_acc) <= 0.01, (float_acc, int8_acc)
    assert r.fidelity.source == "digits" and r.fidelity.top1_agreement >= 0.875
    # --per-layer: the debugger's worst layers, ranked, with their error in quantization steps.
    assert 1 <= len(r.per_layer) <= 10
    ratios = [row["rmse_over_scale"] for row in r.per_layer]
    assert ratios == sorted(ratios, reverse=True) and all(v >= 0 for v in ratios)
    assert all(row["layer"] for row in r.per_layer)


def test_edgetpu_with_fake_compiler_and_without(lenet, tmp_path):
    from tests.test_convert_fast import REPORT

    d = lenet[0]
    fake = tmp_path / "bin" / "edgetpu_compiler"
    fake.parent.mkdir()
    # like the real compiler: the report on stdout, and <stem>_edgetpu.tflite in the -o directory ($3, $4: model)
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{REPORT}EOF\n"
                    'printf compiled > "$3/$(basename "$4" .tflite)_edgetpu.tflite"\n')
    fake.chmod(0o755)
    env = {"EDGEKIT_CACHE_DIR": str(d / "cache"), "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    run = run_cli("convert", str(d / "lenet.keras"), "--edgetpu", "--preprocess", "unit", "--samples", "16",
                  "-o", str(tmp_path / "tpu.tflite"), "--json", env=env)
    assert run.code == 0, run.err
    tpu = run.json()["edgetpu"]
    assert run.json()["quant"] == "int8"  # --edgetpu implies --int8
    assert tpu["compiled"] and (tpu["ops_on_tpu"], tpu["ops_on_cpu"]) == (135, 1)
    assert tpu["output"] == str(tmp_path / "tpu_edgetpu.tflite")
    assert tpu["on_chip_bytes"] > 0 and tpu["off_chip_bytes"] > 0
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                if not os.path.exists(os.path.join(p, "edgetpu_compiler")))
    run = run_cli("convert", str(d / "lenet.keras"), "--edgetpu", "--preprocess", "unit", "--samples", "16",
                  "-o", str(tmp_path / "cpu.tflite"), env={**env, "PATH": bare_path})
    assert run.code == 0, run.err
    assert "edgetpu_compiler is not on PATH" in run.err and "x86-64" in run.err and "apt" in run.err
    assert (tmp_path / "cpu.tflite").stat().st_size > 0  # the int8 model is still written
