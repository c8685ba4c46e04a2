"""TensorFlow's log lines go to a log file, never to the terminal (edgekit.tf_log)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.conftest import run_cli_process as run_cli

# What TensorFlow, absl and the converter write on their own: glog-style lines ("I0000 00:00:...",
# "W0000 ..."), absl's pre-init notice, oneDNN's and the CPU feature guard's notices, the converter's prints.
TF_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cpu_feature_guard|TF_ENABLE_ONEDNN_OPTS|"
                     r"Saved artifact|fully_quantize|tensorflow/", re.M)


def test_native_stderr_goes_to_the_log_and_python_stderr_stays(tmp_path):
    """Without TensorFlow: what C++ would write to fd 2 lands in the log; sys.stderr still reaches us."""
    log = tmp_path / "tf.log"
    code = ("import os, sys\nfrom edgekit import tf_log\ntf_log.send_to_log(header='probe')\n"
            "tf_log.before_import()\nos.write(2, b'W0000 00:00:1.0 native line\\n')\n"
            "print('for the user', file=sys.stderr)\nprint(tf_log.log_written())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "EDGEKIT_TF_LOG": str(log)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "for the user\n"
    assert proc.stdout.strip() == str(log)
    text = log.read_text()
    assert "probe" in text and "W0000 00:00:1.0 native line" in text



def test_exceptions_python_can_only_report_go_to_the_log(tmp_path):
    """A generator whose cleanup raises when collected (TensorFlow's graph builders do, after Ctrl-C) prints
    "Exception ignored in" with a traceback; once TensorFlow's output is diverted, that goes to the log."""
    log = tmp_path / "tf.log"
    code = ("import gc, sys\nfrom edgekit import tf_log\ntf_log.send_to_log(header='probe')\n"
            "tf_log.before_import()\n"
            "def builder():\n    try:\n        yield 1\n    finally:\n        raise TypeError('scope callbacks')\n"
            "g = builder()\nnext(g)\ndel g\ngc.collect()\nprint('for the user', file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "EDGEKIT_TF_LOG": str(log)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "for the user\n"  # no "Exception ignored", no traceback on the terminal
    text = log.read_text()
    assert "Exception ignored in: <generator object builder" in text and "TypeError: scope callbacks" in text


def _small_keras_file(folder):
    """A one-conv .keras file (8x8x3 in, 4 filters of 3x3) and the log path TensorFlow's lines should go to."""
    import keras

    keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)]).save(folder / "m.keras")
    return folder / "m.keras", folder / "tf.log"


@pytest.mark.tf
@pytest.mark.usefixtures("tf")
def test_info_on_a_keras_file_prints_no_tensorflow_lines(tmp_path):
    path, log = _small_keras_file(tmp_path)
    run = run_cli("info", str(path), "--json", env={"EDGEKIT_TF_LOG": str(log)})
    assert run.code == 0, run.err
    assert run.json()["macs"] == 6 * 6 * 4 * 3 * 3 * 3
    assert not TF_LINE.search(run.err), run.err
    assert TF_LINE.search(log.read_text())  # TensorFlow did talk: into the file
    assert f"TensorFlow's log lines went to {log}" in run.err


@pytest.mark.tf
@pytest.mark.usefixtures("tf")
def test_convert_prints_no_tensorflow_lines(tmp_path):
    path, log = _small_keras_file(tmp_path)
    run = run_cli("convert", str(path), "--int8", "--preprocess", "unit", "--calibration",
                  "synthetic", "--samples", "4", "-o", str(tmp_path / "m.tflite"), "--no-cache",
                  env={"EDGEKIT_TF_LOG": str(log), "EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 0, run.err
    assert not TF_LINE.search(run.err + run.out), run.err
    assert "fully_quantize" in log.read_text()  # the quantizer's print to stdout, kept in the log
