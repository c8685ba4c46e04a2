"""One gate for optional dependencies (edgekit.errors): a missing TensorFlow, Keras, scikit-learn, scikit-image,
Pillow, matplotlib or tflite-micro is the same MissingExtra naming the extra, and the CLI says it in one line
with exit 2. tests/test_wheel.py runs the commands in a venv without the extras; these hide one module here."""

from __future__ import annotations

import importlib.util

import pytest

from edgekit.errors import EXTRA_OF, MissingExtra, import_extra, missing_extra


@pytest.fixture
def hide(monkeypatch):
    """``hide(name)``: find_spec answers None for that top-level module, as on an install without it."""
    real = importlib.util.find_spec

    def hide(name: str) -> None:
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda mod, *a: None if mod.split(".")[0] == name else real(mod, *a))

    return hide


@pytest.mark.parametrize("module", sorted(EXTRA_OF))
def test_each_optional_module_names_its_extra(module, hide):
    hide(module)
    with pytest.raises(MissingExtra) as err:
        import_extra(module, needed_for="this")
    assert err.value.extra == EXTRA_OF[module] and err.value.exit_code == 2
    assert str(err.value) == f"this needs {module}, which is not installed: pip install 'edgekit[{EXTRA_OF[module]}]'"


def test_a_module_no_extra_brings_is_not_dressed_up():
    assert missing_extra(ModuleNotFoundError("x", name="not_an_extra"), "this") is None
    assert missing_extra(ModuleNotFoundError("x", name="matplotlib.pyplot"), "this").extra == "plot"


def test_the_keras_and_tensorflow_gates(hide):
    from edgekit.models import _keras, _tf

    hide("tensorflow")
    with pytest.raises(MissingExtra, match=r"needs tensorflow, which is not installed: pip install 'edgekit\[convert"):
        _tf.tensorflow()
    hide("keras")
    with pytest.raises(MissingExtra, match=r"needs keras, which is not installed: pip install 'edgekit\[convert"):
        _keras.keras()


def test_an_import_that_slips_past_the_gate_is_still_one_line(monkeypatch, capsys):
    from edgekit.cli import info, main

    def broken():
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")

    monkeypatch.setattr(info, "zoo_rows", broken)
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("edgekit: error: edgekit models needs matplotlib, which is not installed: "
                           "pip install 'edgekit[plot]'")


def test_study_without_matplotlib(hide, tmp_path, capsys):
    if importlib.util.find_spec("tensorflow") is None:  # as the tf fixture, without importing it
        pytest.skip("without TensorFlow the study stops first at [convert] (tests/test_wheel.py)")
    from edgekit.cli import main

    hide("matplotlib")
    assert main(["study", "--models", "lenet5", "--out", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("pip install 'edgekit[plot]'") and not (tmp_path / "st").exists()
