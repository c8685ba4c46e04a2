"""One model reference (edgekit.models.ref.ModelRef) for every command: one table of inputs and the messages they
give, run through info, convert, bench, check, eval and study in-process. No TensorFlow is loaded by these."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgekit.errors import MissingExtra, ModelFileError, UsageError
from edgekit.models.ref import ModelKind, ModelRef
from tests.conftest import DATA

# Each command with the options it needs besides the model, so that only the model argument can be wrong.
COMMANDS = {
    "info": ["info", "{m}"],
    "convert": ["convert", "{m}", "--int8", "-o", "{tmp}/out.tflite"],
    "bench": ["bench", "{m}", "--target", "rpi4", "--db", "{tmp}/r.db"],
    "check": ["check", "{m}", "--target", "coral-usb"],
    "eval": ["eval", "{m}", "--data", "digits"],
    "study": ["study", "--models", "{m}", "--out", "{tmp}/study"],
}


def _inputs(tmp: Path) -> dict[str, tuple[str, int, str]]:
    """name -> (the model argument, exit code, what the one error line says): the same for every command."""
    (tmp / "empty_folder").mkdir(exist_ok=True)
    (tmp / "model.onnx").write_bytes(b"not a model edgekit reads")
    return {
        "unknown word": ("mobilnetv2", 2, "unknown model 'mobilnetv2' (did you mean mobilenetv2"),
        "missing file": (f"{tmp}/nowhere/model.keras", 1, "not found: no such file or folder (check the path)"),
        "missing under ~": ("~/nowhere/model.keras", 1, "'~/nowhere/model.keras' not found"),
        "folder, no SavedModel": (f"{tmp}/empty_folder", 1, "is a folder without saved_model.pb, so not a SavedModel"),
        "unknown suffix": (f"{tmp}/model.onnx", 2, "expected zoo models (lenet5, "),
    }


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_gives_the_same_message(command, tmp_path, monkeypatch, capsys):
    from edgekit.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    for name, (model, code, message) in _inputs(tmp_path).items():
        argv = [a.format(m=model, tmp=tmp_path) for a in COMMANDS[command]]
        assert main(argv) == code, (name, capsys.readouterr().err)
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("edgekit: error:")]
        assert len(lines) == 1 and message in lines[0], (name, err)
        assert "Traceback" not in err


def test_tilde_is_expanded(tmp_path, monkeypatch, capsys):
    from edgekit.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(DATA / "tiny_int8.tflite", tmp_path / "m.tflite")
    ref = ModelRef.parse("~/m.tflite")
    assert ref.kind is ModelKind.TFLITE and ref.path == tmp_path / "m.tflite" and ref.name == "m"
    assert main(["info", "~/m.tflite", "--json"]) == 0
    assert main(["check", "~/m.tflite", "--target", "coral-usb", "--json"]) == 0
    capsys.readouterr()


def test_kinds(tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "a.h5").write_bytes(b"")
    assert ModelRef.parse("MobileNetV2") == ModelRef(ModelKind.ZOO, "MobileNetV2")
    assert ModelRef.parse("MobileNetV2").name == "mobilenetv2"
    assert ModelRef.parse(tmp_path / "sm").kind is ModelKind.SAVEDMODEL
    assert ModelRef.parse(tmp_path / "sm").name == "sm"
    assert ModelRef.parse(str(tmp_path / "a.h5")).kind is ModelKind.KERAS
    assert ModelRef.parse(DATA / "tiny_int8.tflite").kind is ModelKind.TFLITE
    # bench reads a .tflite that is not there as a failure of that model alone
    assert ModelRef.parse(tmp_path / "gone.tflite", must_exist=False).kind is ModelKind.TFLITE
    with pytest.raises(ModelFileError, match="not found"):
        ModelRef.parse(tmp_path / "gone.tflite")


def test_a_file_of_the_zoo_name_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lenet5").mkdir()
    (tmp_path / "lenet5" / "saved_model.pb").write_bytes(b"")
    assert ModelRef.parse("lenet5").kind is ModelKind.SAVEDMODEL


@pytest.mark.parametrize(("model", "args", "message"), [
    (DATA / "tiny_int8.tflite", {"alpha": 0.5}, "--alpha applies to zoo models only; "),
    (DATA / "tiny_int8.tflite", {"classes": 3, "weights": "imagenet"}, "--classes, --weights apply to zoo models"),
    (DATA / "tiny_int8.tflite", {"input_size": 96}, "--input-size applies to zoo models, and to .keras/.h5 files "
                                                    "and SavedModels with an unknown input size"),
])
def test_options_that_do_not_apply(model, args, message):
    with pytest.raises(UsageError, match=message.replace(".", r"\.").replace("(", r"\(")):
        ModelRef.parse(model).check_args(**args)


def test_input_size_is_accepted_for_keras_files_and_savedmodels(tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "a.keras").write_bytes(b"")
    for model in (tmp_path / "sm", tmp_path / "a.keras", "mobilenetv2"):
        assert ModelRef.parse(model).check_args(input_size=96).given == str(model)


def test_a_kind_the_command_does_not_take(monkeypatch):
    import importlib.util

    ref = ModelRef.parse("mobilenetv2")
    if importlib.util.find_spec("tensorflow") is not None:  # the light install's message is checked below
        with pytest.raises(UsageError, match=r"edgekit check takes \.tflite files; 'mobilenetv2' is a zoo model: "
                                             r"make one first with edgekit convert mobilenetv2 --int8"):
            ref.require(ModelKind.TFLITE, command="check")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    with pytest.raises(MissingExtra, match=r"needs tensorflow, which is not installed: "
                                           r"pip install 'edgekit\[convert\]'"):
        ref.require(ModelKind.TFLITE, command="check")
    with pytest.raises(UsageError, match=r"edgekit convert takes .*'m\.tflite' is a \.tflite file$"):
        ModelRef(ModelKind.TFLITE, "m.tflite", Path("m.tflite")).require(ModelKind.ZOO, command="convert")
