"""Models trained and converted once per test session, shared by the train and eval test modules."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

_CACHE: dict[tuple, Path] = {}


def trained(tmp_path_factory, model: str, *args: str) -> Path:
    """``edgekit train MODEL --data digits ARGS`` once per session; returns the .keras path."""
    key = ("train", model, *args)
    if key not in _CACHE:
        out = tmp_path_factory.mktemp(f"train_{model}") / f"{model}.keras"
        run = run_cli("train", model, "--data", "digits", *args, "-o", str(out))
        assert run.code == 0, run.err[-3000:]
        _CACHE[key] = out
    return _CACHE[key]


def int8(model: Path) -> Path:
    """``edgekit convert MODEL --int8 --calibration digits`` once per session; returns the .tflite path."""
    key = ("int8", model)
    if key not in _CACHE:
        out = model.with_name(model.stem + "_int8.tflite")
        run = run_cli("convert", str(model), "--int8", "--calibration", "digits", "-o", str(out), "--no-cache")
        assert run.code == 0, run.err[-3000:]
        _CACHE[key] = out
    return _CACHE[key]


def evaluate(*models: Path, args: tuple[str, ...] = ()) -> list[dict]:
    run = run_cli("eval", *map(str, models), "--data", "digits", "--json", *args)
    assert run.code == 0, run.err[-3000:]
    return run.json()
