"""``--target gpu``: everything up to the accelerator call. On a machine without a GPU it must fail with one
line naming what was looked for. Where LiteRT finds a GPU adapter (a real GPU, or Mesa's software Vulkan,
lavapipe, which .ci/run installs) it must measure, and each timed call must wait for the GPU's work.
scripts/gpu_check.sh runs these on a GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache

import pytest

from bench.gpu import Adapter, parse_adapter
from tests._tflite_build import conv_chain
from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli_process

FAST = ("--runs", "5", "--min-seconds", "0")


def _probe(*args: str) -> dict:
    """``tests._gpu_probe`` in a child process (LiteRT's GPU start-up is not safe inside the test process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "tests._gpu_probe", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("GPU-PROBE ")), None)
    assert line is not None, f"the GPU probe ended with {proc.returncode} and no answer:\n{proc.stderr[-2000:]}"
    return json.loads(line.removeprefix("GPU-PROBE "))


@cache
def _gpu() -> tuple[bool, Adapter | None]:
    """Whether LiteRT's GPU accelerator starts here, and the adapter it chose."""
    doc = _probe("adapter")
    return doc["ok"], Adapter(**doc["adapter"]) if doc["adapter"] else None


def _has_gpu() -> bool:
    return _gpu()[0]


def test_gpu_options_are_checked_first(tmp_path):
    line = assert_one_line_error(run_cli_process("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu",
                                                 "--threads", "2", *FAST, "--db", str(tmp_path / "r.db")), 2)
    assert "--threads does not apply to --target gpu" in line


def test_no_gpu_is_one_clear_line(tmp_path):
    ok, adapter = _gpu()
    if ok:
        pytest.skip(f"LiteRT finds a GPU adapter here ({adapter.name if adapter else 'unnamed'}), so there is no "
                    "'no GPU' error to check")
    run = run_cli_process("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu", *FAST,
                          "--db", str(tmp_path / "r.db"))
    line = assert_one_line_error(run, 1)
    assert "no usable GPU" in line and "LiteRT's GPU accelerator" in line and "Keras backends: " in line
    assert "LiteRT said: " in line and not line.rstrip(")").endswith("LiteRT said: ")


def test_the_adapter_is_read_from_litert_log():
    real = parse_adapter("I0000 00:00:1796384236.105968    1455 environment.cc:532] Selected adapter: NVIDIA H200, "
                         "arch=, vendor=nvidia, backend=Vulkan, adapterType=Discrete GPU\nINFO: [delegate_webgpu.cc]")
    assert real == Adapter("NVIDIA H200", "", "nvidia", "Vulkan", "Discrete GPU") and not real.emulated
    soft = parse_adapter("Selected adapter: llvmpipe (LLVM 15.0.6, 256 bits), arch=software, vendor=mesa, "
                         "backend=Vulkan, adapterType=CPU / Software")
    assert soft.name == "llvmpipe (LLVM 15.0.6, 256 bits)" and soft.emulated
    assert parse_adapter("INFO: XNNPACK CPU accelerator registered.") is None


def test_gpu_target_measures_when_a_gpu_exists(tmp_path):
    if not _has_gpu():
        pytest.skip("no GPU adapter that LiteRT can use on this machine (not even Mesa's lavapipe)")
    run = run_cli_process("bench", str(DATA / "tiny_fp32.tflite"), "--target", "gpu", *FAST, "--rounds", "2",
                          "--budget", "1", "--json", "--db", str(tmp_path / "r.db"))
    assert run.code == 0, run.err
    (doc,) = run.json()
    assert doc["target"] == "gpu" and doc["accelerator"] == "litert-gpu" and doc["latency_ms"]["p50"] > 0
    assert doc["sync"] == "readback"
    adapter = _gpu()[1]
    assert doc["gpu_adapter"] == (adapter.to_dict() if adapter else None)
    assert doc["emulated"] is bool(adapter and adapter.emulated)
    if doc["emulated"]:  # a software Vulkan driver: said so, never shown as a GPU's speed
        assert any(w.startswith("emulated: LiteRT's GPU accelerator ran on ") for w in doc["warnings"])


def test_each_timed_gpu_call_waits_for_the_gpu(tmp_path):
    """The loop's call (``GpuModel.call``, what ``run_gpu`` times) against the GPU's own pace: N dispatches in one
    timed block that ends with one readback take N times the GPU's work. Timed one by one, the loop's calls
    must not come out faster than that; calls that only queue the work would (0.3 ms against 40 ms on lavapipe).
    """
    ok, adapter = _gpu()
    if not ok:
        pytest.skip("no GPU adapter that LiteRT can use on this machine (not even Mesa's lavapipe)")
    emulated = adapter is None or adapter.emulated
    # enough work per call to dwarf the call's own overhead: ~40 MMAC on a software GPU, ~19 GMAC on a real one
    size, channels, layers, n = (32, 32, 4, 5) if emulated else (128, 128, 8, 10)
    path = tmp_path / "chain.tflite"
    path.write_bytes(conv_chain(size=size, channels=channels, layers=layers))
    found = _probe("sync", str(path), str(n))
    block_ms, single_ms, queued_ms = found["block_ms"], found["single_ms"], found["queued_ms"]
    assert single_ms >= 0.7 * block_ms, (
        f"a timed GPU call took {single_ms:.3f} ms, but {n} calls in one block took {block_ms:.3f} ms each "
        f"(a call that only queues the work: {queued_ms:.3f} ms): the loop no longer waits for the GPU")
