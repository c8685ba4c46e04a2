"""benchmark_model's output parser, on verbatim output of the real tool quoted in public issues, and the adb
helpers that need no device (fast tier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.errors import UsageError
from targets.adb import (
    AdbError,
    PhoneIdentity,
    check_binary,
    check_identity,
    parse_devices,
    select_serials,
    state_error,
)
from targets.android import big_core_mask
from targets.benchmark_model import BenchmarkArgs, BenchmarkOutputError, parse

# Verbatim from https://github.com/tensorflow/tensorflow/issues/42507 (adb shell on a phone, 4 threads).
ISSUE_42507 = """\
Loaded model /data/local/tmp/espcn_harmonic_2x_slim_w_cl.tflite
The input model file size (MB): 0.004448
Initialized session in 0.855ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=15 first=49060 curr=33682 min=32825 max=49060 avg=34825.1 std=3930

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=32891 curr=33978 min=32641 max=34005 avg=33209.4 std=450

Inference timings in us: Init: 855, First inference: 49060, Warmup (avg): 34825.1, Inference (avg): 33209.4
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual \
memory footprint of the model at runtime. Take the information at your discretion.
Peak memory footprint (MB): init=0 overall=12.8672
"""
# Verbatim from https://github.com/tensorflow/tensorflow/issues/73862 (a newer build: INFO: prefixes).
ISSUE_73862 = """\
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=37 first=14744 curr=15520 min=13164 max=18295 avg=13764.3 std=967

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=74 first=14850 curr=13315 min=13105 max=15765 avg=13520.2 std=470

INFO: Inference timings in us: Init: 12750, First inference: 14744, Warmup (avg): 13764.3, Inference (avg): 13520.2
"""
# The tool prints large values with %g (2.95034e+06 in other quoted runs): #42507 with that form.
EXPONENT = ISSUE_42507.replace("Inference (avg): 33209.4", "Inference (avg): 3.32094e+04")


def test_parses_the_real_tool_output():
    run = parse(ISSUE_42507)
    assert (run.runs, run.init_ms, run.first_ms, run.avg_ms) == (50, 0.855, 49.06, 33.2094)
    assert (run.min_ms, run.max_ms, run.std_ms, run.peak_memory_mb) == (32.641, 34.005, 0.45, 12.8672)
    assert run.median_ms is None and run.summary_ms == run.avg_ms and not run.emulated
    newer = parse(ISSUE_73862)
    assert newer.runs == 74 and newer.avg_ms == 13.5202 and newer.peak_memory_mb is None
    assert parse(EXPONENT).avg_ms == pytest.approx(33.2094)


def test_a_failed_run_gives_the_tool_message():
    with pytest.raises(BenchmarkOutputError, match="Failed to load model"):
        parse("INFO: STARTING!\nERROR: Failed to load model /data/local/tmp/x.tflite\n")


def test_the_command_line():
    argv = BenchmarkArgs(4, warmup_runs=2, num_runs=30).argv("/d/bm", "/d/m.tflite")
    assert argv == ["/d/bm", "--graph=/d/m.tflite", "--num_threads=4", "--warmup_runs=2", "--num_runs=30",
                    "--report_peak_memory_footprint=true", "--use_xnnpack=true"]
    assert BenchmarkArgs(1, use_gpu=True).argv("b", "g")[-1] == "--use_gpu=true"


def test_devices_states_and_identity():
    text = "List of devices attached\n1A2B3C\tdevice\nemulator-5554\toffline\nXYZ\tunauthorized\n\n"
    assert parse_devices(text) == {"1A2B3C": "device", "emulator-5554": "offline", "XYZ": "unauthorized"}
    assert "Allow USB debugging" in str(state_error("XYZ", "unauthorized"))
    assert "offline" in str(state_error("E", "offline")) and state_error("A", "device") is None
    with pytest.raises(AdbError, match="emulator"):
        check_identity(PhoneIdentity("s", {"ro.kernel.qemu": "1", "ro.product.cpu.abi": "arm64-v8a"}))
    with pytest.raises(AdbError, match="32-bit"):
        check_identity(PhoneIdentity("s", {"ro.product.cpu.abi": "armeabi-v7a"}))
    check_identity(PhoneIdentity("s", {"ro.product.cpu.abi": "arm64-v8a", "ro.hardware": "flame"}))


def test_taskset_mask_takes_the_fastest_cores():
    pixel4 = {0: 1785600, 1: 1785600, 2: 1785600, 3: 1785600, 4: 2419200, 5: 2419200, 6: 2419200, 7: 2841600}
    assert big_core_mask(pixel4, 1) == "80" and big_core_mask(pixel4, 4) == "f0"


def test_binary_checks(tmp_path):
    arm = tmp_path / "bm"
    arm.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (183).to_bytes(2, "little") + b"\0" * 40)
    digest = check_binary(arm)
    with pytest.raises(UsageError, match="does not match"):
        check_binary(arm, "0" * 64)
    assert check_binary(arm, digest) == digest
    x86 = tmp_path / "x86"
    x86.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (62).to_bytes(2, "little") + b"\0" * 40)
    with pytest.raises(UsageError, match="not an arm64 ELF"):
        check_binary(x86)


def test_no_adb_on_path_says_how_to_get_it(monkeypatch):
    monkeypatch.setenv("PATH", str(Path("/nonexistent")))
    with pytest.raises(UsageError, match="apt install adb"):
        select_serials(())


def test_delegate_gpu_is_use_gpu_on_the_command_line_and_only_for_phones():
    from targets.benchmark_model import BenchmarkArgs
    from tests.conftest import assert_one_line_error, run_cli

    gpu = BenchmarkArgs(4, use_gpu=True).argv("/data/local/tmp/x/benchmark_model", "/data/local/tmp/x/m.tflite")
    assert "--use_gpu=true" in gpu and not any(a.startswith("--use_xnnpack") for a in gpu)
    assert "--use_xnnpack=true" in BenchmarkArgs(4).argv("b", "g")
    line = assert_one_line_error(run_cli("bench", "m.tflite", "--target", "cpu", "--delegate", "gpu"), 2)
    assert "--delegate gpu applies to a phone" in line
    assert "--delegate must be one of cpu, gpu" in assert_one_line_error(
        run_cli("bench", "m.tflite", "--target", "android", "--delegate", "npu"), 2)
