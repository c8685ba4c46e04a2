"""``--target gpu``: everything up to the accelerator call. On a machine without a GPU it must fail with one
line naming what was looked for; scripts/gpu_check.sh verifies the real thing on a GPU machine."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli

FAST = ("--runs", "5", "--min-seconds", "0")


@functools.cache
def _has_gpu() -> bool:
    """Asked in a fresh process, as bench asks it (bench.child): LiteRT's GPU probe is native code that has
    crashed a test process that had run much else before it."""
    code = ("import sys\nfrom bench.gpu import NoGpuError, compile_for_gpu\n"
            "try:\n    compile_for_gpu(sys.argv[1])\nexcept NoGpuError:\n    sys.exit(3)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", code, str(DATA / "tiny_fp32.tflite")], capture_output=True,
                          env=env, timeout=300)
    return proc.returncode == 0


def test_gpu_options_are_checked_first(tmp_path):
    line = assert_one_line_error(run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu", "--threads", "2",
                                         *FAST, "--db", str(tmp_path / "r.db")), 2)
    assert "--threads does not apply to --target gpu" in line


def test_no_gpu_is_one_clear_line(tmp_path):
    if _has_gpu():
        pytest.skip("this machine has a GPU; see scripts/gpu_check.sh")
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu", *FAST, "--db", str(tmp_path / "r.db"))
    line = assert_one_line_error(run, 1)
    assert "no usable GPU" in line and "LiteRT's GPU accelerator" in line and "Keras backends: " in line


def test_gpu_target_measures_when_a_gpu_exists(tmp_path):
    if not _has_gpu():
        pytest.skip("no GPU that LiteRT can use on this machine")
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu", *FAST, "--json",
                  "--db", str(tmp_path / "r.db"))
    assert run.code == 0, run.err
    (doc,) = run.json()
    assert doc["target"] == "gpu" and doc["accelerator"] == "litert-gpu" and doc["latency_ms"]["p50"] > 0
