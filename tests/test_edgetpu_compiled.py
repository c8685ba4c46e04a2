"""Compiled ``*_edgetpu.tflite`` models and ``edgekit check``'s exit codes (fast tier: no TensorFlow).

``tests/data/tiny_int8_edgetpu.tflite`` is made by ``tests/data/make_edgetpu.py`` from ``tiny_int8.tflite``:
its first 4 ops become one ``edgetpu-custom-op`` whose custom options are an 8-byte header plus those ops'
weights and biases, and SOFTMAX stays on the CPU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgekit.analysis.tflite_graph import read_tflite
from edgekit.errors import UsageError
from targets.registry import get_target
from tests.conftest import assert_one_line_error, run_cli

DATA = Path(__file__).parent / "data"
COMPILED = DATA / "tiny_int8_edgetpu.tflite"


def _expected_custom_bytes() -> int:
    source = read_tflite(DATA / "tiny_int8.tflite")
    weights = sum(source.tensors[i].data_bytes for op in source.ops[:4] for i in op.inputs
                  if i >= 0 and source.tensors[i].constant)
    return 8 + weights


def test_fixture_is_what_the_script_makes():
    from tests.data.make_edgetpu import build

    assert build() == COMPILED.read_bytes()


def test_check_recognises_a_compiled_model():
    run = run_cli("check", str(COMPILED), "--target", "coral-usb", "--json")
    assert run.code == 0, run.err
    r = run.json()
    assert r["compiled_for_edgetpu"] is True and r["compatible"] is True
    assert (r["ops_total"], r["ops_on_tpu"], r["ops_on_cpu"]) == (2, 1, 1)
    assert [op["opcode"] for op in r["cpu_ops"]] == ["SOFTMAX"]
    assert r["custom_op_bytes"] == r["param_bytes_on_tpu"] == _expected_custom_bytes()
    table = run_cli("check", str(COMPILED))
    assert table.code == 0 and "compiled for the Edge TPU" in table.out and "SOFTMAX" in table.out


def test_check_exit_codes_match_targets_check():
    ok = run_cli("check", str(DATA / "tiny_int8.tflite"), "--json")
    assert ok.code == 0 and ok.json()["compatible"] is True
    bad = run_cli("check", str(DATA / "tiny_fp32.tflite"), "--json")
    assert bad.code == 1 and bad.json()["compatible"] is False  # the report is printed, then exit 1
    assert "not fully compatible with coral-usb" in assert_one_line_error(bad, 1)
    assert "Edge TPU targets" in assert_one_line_error(run_cli("check", str(COMPILED), "--target", "rpi4"), 2)


def test_running_a_compiled_model_on_the_cpu_names_the_delegate():
    from edgekit.runtime import load

    with pytest.raises(UsageError, match="libedgetpu") as err:
        load(COMPILED)
    assert "edgetpu-custom-op" in str(err.value) and "\n" not in str(err.value)
    line = assert_one_line_error(run_cli("bench", str(COMPILED), "--target", "cpu"), 2)
    assert "Edge TPU delegate" in line and "libedgetpu" in line


def test_bench_estimates_a_compiled_model(tmp_path):
    from targets.estimate import estimate_bench

    beside = estimate_bench(COMPILED, get_target("coral-usb")).to_dict()  # tiny_int8.tflite lies beside it
    assert beside["measured"] is False and beside["size_bytes"] == COMPILED.stat().st_size
    assert any("estimated from tiny_int8.tflite" in w for w in beside["warnings"])
    assert beside["estimate"]["tpu_compute_ms"] > 0 and beside["macs"] > 0
    alone = tmp_path / COMPILED.name
    shutil.copy(COMPILED, alone)
    bound = estimate_bench(alone, get_target("coral-usb")).to_dict()
    assert any("lower bound" in w for w in bound["warnings"]) and bound["macs"] is None
    assert bound["estimate"]["tpu_compute_ms"] < beside["estimate"]["tpu_compute_ms"]
    assert bound["latency_ms"]["p50"] > 0
    with pytest.raises(UsageError, match="compiled for the Edge TPU"):
        estimate_bench(alone, get_target("rpi4"))


def test_partition_drives_the_estimate():
    # tiny_uint8 maps whole to the TPU, tiny_fp32 not at all.
    from targets.estimate import estimate_bench

    tpu = estimate_bench(DATA / "tiny_uint8.tflite", get_target("coral-usb")).to_dict()["estimate"]
    cpu = estimate_bench(DATA / "tiny_fp32.tflite", get_target("coral-usb")).to_dict()["estimate"]
    assert tpu["host_cpu_ops_ms"] == 0 and tpu["tpu_compute_ms"] > 0 and tpu["io_ms"] > 0
    assert cpu["tpu_compute_ms"] == 0 and cpu["io_ms"] == 0 and cpu["host_cpu_ops_ms"] > 0
