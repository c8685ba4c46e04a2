"""Bad input to ``edgekit convert``: one line on stderr, a non-zero exit, no partial output, nothing replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, assert_one_line_error, run_cli


def _convert(tmp_path, *args):
    return run_cli("convert", *args, cwd=tmp_path, env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})


def _no_output(folder):
    return [p.name for p in folder.iterdir() if p.name != "cache" and not p.name.startswith("input")] == []


def test_missing_model(tmp_path):
    line = assert_one_line_error(_convert(tmp_path, "nowhere/model.keras", "--int8"), 1)
    assert "not found" in line and _no_output(tmp_path)


def test_unknown_zoo_name_suggests(tmp_path):
    line = assert_one_line_error(_convert(tmp_path, "mobilenetv3", "--int8"), 2)
    assert "did you mean mobilenetv2" in line


def test_corrupt_model(tmp_path):
    (tmp_path / "input.keras").write_bytes(b"PK\x03\x04 truncated zip")
    line = assert_one_line_error(_convert(tmp_path, "input.keras", "--int8", "--preprocess", "unit"), 1)
    assert "corrupt" in line and _no_output(tmp_path)


def test_empty_calibration_folder(tmp_path):
    (tmp_path / "input_images").mkdir()
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8", "--calibration", "input_images"), 1)
    assert "has no images" in line and _no_output(tmp_path)


@pytest.mark.tf
def test_no_readable_images(tmp_path):
    folder = tmp_path / "input_images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not an image")
    (folder / "b.png").write_bytes(b"")
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8", "--calibration", "input_images"), 1)
    assert "none of the 2 image files" in line and _no_output(tmp_path)


@pytest.mark.tf
def test_wrong_channel_count(tmp_path):
    folder = tmp_path / "input_images"
    folder.mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(folder / "colour.png")
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8", "--calibration", "input_images"), 2)
    assert "model takes 1 channel" in line and _no_output(tmp_path)


def test_float_io_without_int8_is_refused(tmp_path):
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--fp16", "--float-io"), 2)
    assert "--float-io needs --int8" in line
    assert "choose one" in assert_one_line_error(_convert(tmp_path, "lenet5", "--fp16", "--int8"), 2)


def test_existing_output_is_not_replaced(tmp_path):
    (tmp_path / "lenet5_int8.tflite").write_bytes(b"precious")
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8"), 1)
    assert "already exists; pass --force" in line
    assert (tmp_path / "lenet5_int8.tflite").read_bytes() == b"precious"
    assert not (tmp_path / "lenet5_int8.tflite.json").exists()


def test_unwritable_output_folder(tmp_path):
    (tmp_path / "afile").write_text("x")
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8", "-o", "afile/out.tflite"), 1)
    assert "does not exist" in line
    line = assert_one_line_error(_convert(tmp_path, "lenet5", "--int8", "-o", "/proc/out.tflite"), 1)
    assert "cannot write to folder '/proc'" in line


PHASES = ("build", "conversion", "calibration", "fidelity", "cleanup")
# Each phase is a TensorFlow conversion in a fresh process (5 s): the default suite keeps two, CI's heavy tier all.
_HEAVY_PHASES = ("build", "fidelity", "cleanup")


@pytest.mark.tf
@pytest.mark.parametrize("phase", [pytest.param(p, marks=pytest.mark.heavy) if p in _HEAVY_PHASES else p
                                   for p in PHASES])
def test_ctrl_c_leaves_no_partial_file(tmp_path, phase):
    """Ctrl-C while the model is built, inside TensorFlow's converter, during calibration, during the fidelity
    check, and one that Python swallows in a garbage-collector callback: exit 130, one line, nothing written, not
    even to the cache, and no later phase started. The signal follows a marker line, never a sleep."""
    cmd = [sys.executable, "-m", "tests._convert_phases", phase, "convert", "lenet5", "--int8", "--samples", "200",
           "--no-cache", "-o", "out.tflite"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEKIT_CACHE_DIR": str(tmp_path / "cache"),
           "EDGEKIT_TF_LOG": str(tmp_path / "logs" / "tf.log")}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line == f"@phase {phase}\n":
            break
    if phase != "cleanup":  # cleanup interrupts itself
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    err = "".join(seen) + err
    assert f"@phase {phase}\n" in seen, err
    assert proc.returncode == 130 and out == "", err  # no result was printed
    lines = [x for x in err.splitlines() if x.startswith("edgekit: error:")]
    assert lines == ["edgekit: error: interrupted; no output was written"] and "Traceback" not in err, err
    if phase != "conversion":  # Ctrl-C waited there: nothing after it ran
        assert [x for x in err.splitlines() if x.startswith("@phase")][-1] == f"@phase {phase}", err
    assert {p.name for p in tmp_path.iterdir()} <= {"cache", "logs"}  # no output, no temporary files
    assert not list((tmp_path / "cache").rglob("*.tflite"))
