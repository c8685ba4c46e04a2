"""`edgekit info`, `edgekit models`, --help speed and the error contract."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli

JSON_KEYS = {"model", "input_shape", "params", "trainable_params", "macs", "weight_bytes", "activation_peak_bytes",
             "layers"}


def test_cli_import_loads_no_tensorflow():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import edgekit.cli"], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "typer" in imported  # the trace really lists imports
    assert not imported & {"tensorflow", "keras", "tf_keras"}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["info", "--help"], ["models", "--help"]])
def test_help_and_version_import_no_tensorflow(args):
    code = (f"import sys; from edgekit.cli import main; rc = main({args!r}); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "edgekit" in proc.stdout


def test_info_tflite_json_without_tensorflow():
    run = run_cli("info", str(DATA / "seed_separable.tflite"), "--json")
    assert run.code == 0, run.err
    doc = run.json()
    assert JSON_KEYS <= doc.keys()
    assert doc["macs"] == 672 and doc["input_shape"] == [6, 6, 3]
    assert [layer["macs"] for layer in doc["layers"]] == [432, 240]


def test_unknown_model_exit_2_with_suggestion():
    line = assert_one_line_error(run_cli("info", "mobilenetv3"), code=2)
    assert "did you mean" in line and "mobilenetv2" in line


def test_unknown_option_is_one_line_exit_2():
    assert_one_line_error(run_cli("info", "lenet5", "--bogus"), code=2)


@pytest.mark.parametrize("args, expect", [
    (["info", "vgg16", "--input-size", "16"], "at least 32x32"),
    (["info", "mobilenet", "--alpha", "7"], "alpha=7.0 is outside"),
    (["info", "mobilenetv2", "--alpha", "0"], "alpha"),
])
def test_bad_arguments_exit_2(args, expect):
    assert expect in assert_one_line_error(run_cli(*args), code=2)


def test_missing_truncated_and_corrupt_tflite(tmp_path):
    assert "not found" in assert_one_line_error(run_cli("info", str(tmp_path / "missing.tflite")), code=1)
    real = (DATA / "mixed_ops.tflite").read_bytes()
    (tmp_path / "cut.tflite").write_bytes(real[:100])
    assert "truncated or corrupt" in assert_one_line_error(run_cli("info", str(tmp_path / "cut.tflite")), code=1)
    (tmp_path / "junk.tflite").write_bytes(b"\x00" * 64)
    assert "not a TFLite model" in assert_one_line_error(run_cli("info", str(tmp_path / "junk.tflite")), code=1)


@pytest.mark.usefixtures("tf")
class TestWithTensorFlow:
    def test_info_zoo_json(self):
        run = run_cli("info", "mobilenetv2", "--json")
        assert run.code == 0, run.err
        doc = run.json()
        assert JSON_KEYS <= doc.keys()
        assert (doc["params"], doc["macs"], doc["input_shape"]) == (3_538_984, 300_774_272, [224, 224, 3])
        assert doc["activation_peak_bytes"] > 112 * 112 * 96 * 4
        assert {"name", "type", "output_shape", "params", "macs"} <= doc["layers"][0].keys()

    def test_user_keras_file_and_its_tflite_agree(self, tmp_path):
        from converters._tf import quiet_tf
        from edgekit.models import build

        model = build("mobilenet", input_shape=64, alpha=0.25, classes=5)
        model.save(tmp_path / "user.keras")
        with quiet_tf() as tf:
            (tmp_path / "user.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        keras_doc = run_cli("info", str(tmp_path / "user.keras"), "--json").json()
        tflite_doc = run_cli("info", str(tmp_path / "user.tflite"), "--json").json()
        assert keras_doc["params"] == model.count_params() and keras_doc["file_bytes"] > 0
        assert keras_doc["macs"] == tflite_doc["macs"] > 0

        head = (tmp_path / "user.keras").read_bytes()[:100]
        (tmp_path / "cut.keras").write_bytes(head)
        assert "corrupt" in assert_one_line_error(run_cli("info", str(tmp_path / "cut.keras")), code=1)
        (tmp_path / "cut.h5").write_bytes(head)
        assert "not an HDF5 file" in assert_one_line_error(run_cli("info", str(tmp_path / "cut.h5")), code=1)
        assert "not found" in assert_one_line_error(run_cli("info", str(tmp_path / "gone.keras")), code=1)

    def test_savedmodel_folder(self, tmp_path):
        from edgekit.models import build

        model = build("lenet5")
        model.export(str(tmp_path / "sm"), verbose=False)
        run = run_cli("info", str(tmp_path / "sm"), "--json")
        assert run.code == 0, run.err
        assert run.json()["macs"] == 416_520 and run.json()["source"] == "savedmodel"
        (tmp_path / "empty").mkdir()
        assert "SavedModel" in assert_one_line_error(run_cli("info", str(tmp_path / "empty")), code=1)

    def test_layers_table(self):
        run = run_cli("info", "lenet5", "--layers")
        assert run.code == 0 and "c3_conv" in run.out and "240,000" in run.out

    def test_models_json_lists_the_zoo_and_matches_readme(self):
        run = run_cli("models", "--json")
        assert run.code == 0, run.err
        rows = {row["name"]: row for row in run.json()}
        assert list(rows) == ["lenet5", "alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "googlenet",
                              "inceptionv3", "mobilenet", "mobilenetv2"]
        assert all(row["params"] > 0 and row["macs"] > 0 for row in rows.values())
        readme = (ROOT / "README.md").read_text()
        for row in rows.values():
            assert f"| `{row['name']}` |" in readme
            assert f"| {row['params']:,} | {row['macs']:,} |" in readme, row["name"]

    @pytest.mark.slow
    @pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "googlenet",
                                      "inceptionv3", "mobilenet", "mobilenetv2"])
    def test_the_registry_figures_are_the_built_models(self, name):
        """``edgekit models`` reads params and MACs from the registry; each must be what the builder makes."""
        from edgekit.analysis import analyze_keras
        from edgekit.models import build
        from edgekit.models._keras import keras
        from edgekit.models.registry import FIGURES, get_spec

        spec = get_spec(name)
        report = analyze_keras(build(name), name=name)
        keras().backend.clear_session()
        assert (report.params, report.macs) == (FIGURES[spec.name].params, FIGURES[spec.name].macs)
        assert report.input_shape == spec.default_input


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    from edgekit.cli import info, main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "zoo_rows", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err.strip() == "edgekit: error: interrupted"
