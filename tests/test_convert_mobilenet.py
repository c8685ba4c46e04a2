"""The headline command, ``edgekit convert mobilenetv2 --int8``, at full size, and its time budget.

The cold and cached runs are pytest-benchmark benchmarks: with ``--benchmark-enable`` they report the end-to-end
time of a fresh ``edgekit`` process (budget 40 s cold, 3 s cached on the 2-core reference machine). The default
suite runs each once; the acceptance checks reuse the cold run's output.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from edgekit.analysis import read_tflite
from tests.conftest import run_cli

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.heavy]  # the headline command end to end: CI's heavy tier
COLD_BUDGET_S, CACHED_BUDGET_S = 40.0, 3.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnv2")
    return {"dir": d, "env": {"EDGEKIT_CACHE_DIR": str(d / "cache")}, "cold": None}


def _cold(workdir):
    start = time.perf_counter()
    run = run_cli("convert", "mobilenetv2", "--int8", "--force", cwd=workdir["dir"], env=workdir["env"])
    workdir["cold"] = (run, time.perf_counter() - start)
    return run


@pytest.fixture(scope="module")
def cold_run(workdir):
    if workdir["cold"] is None:
        _cold(workdir)
    return workdir["cold"][0]


@pytest.mark.benchmark_suite
def test_cold_convert_benchmark(benchmark, workdir):
    benchmark.extra_info["budget_s"] = COLD_BUDGET_S
    run = benchmark.pedantic(_cold, args=(workdir,), rounds=1, iterations=1)
    assert run.code == 0, run.err
    if benchmark.stats:  # --benchmark-enable
        assert benchmark.stats.stats.max <= COLD_BUDGET_S


@pytest.mark.benchmark_suite
def test_cached_convert_benchmark(benchmark, workdir, cold_run):
    benchmark.extra_info["budget_s"] = CACHED_BUDGET_S
    run = benchmark.pedantic(run_cli, args=("convert", "mobilenetv2", "--int8", "--force", "--json"),
                             kwargs={"cwd": workdir["dir"], "env": workdir["env"]}, rounds=3, iterations=1)
    assert run.code == 0 and run.json()["cached"] is True
    if benchmark.stats:
        assert benchmark.stats.stats.median <= CACHED_BUDGET_S


def test_cached_path_never_imports_tensorflow(workdir, cold_run):
    code = ("import sys; from converters import convert; "
            "r = convert('mobilenetv2', 'int8', output='again.tflite', force=True); "
            "assert r.cached; print('tensorflow' in sys.modules)")
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, "-c", code], cwd=workdir["dir"], capture_output=True, text=True,
                         env={**os.environ, **workdir["env"], "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_int8_model_is_integer_end_to_end(workdir, cold_run):
    assert cold_run.code == 0, cold_run.err
    path = workdir["dir"] / "mobilenetv2_int8.tflite"
    it = Interpreter(model_path=str(path))
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8
    g = read_tflite(path)
    weighted = [op for op in g.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert len(weighted) >= 50
    assert {g.tensors[op.inputs[1]].dtype for op in weighted} == {"int8"}


def test_int8_is_at_most_30_percent_of_fp32(workdir, cold_run, tf):
    from converters import convert

    fp32 = convert("mobilenetv2", "fp32", output=workdir["dir"] / "fp32.tflite", force=True, use_cache=False)
    int8 = (workdir["dir"] / "mobilenetv2_int8.tflite").stat().st_size
    assert int8 <= 0.30 * fp32.size_bytes, (int8, fp32.size_bytes)


def test_fidelity_report_is_printed_and_sidecar_written(workdir, cold_run):
    out = cold_run.out
    for word in ("fidelity vs float", "top-1 agreement", "cosine", "SQNR", "max abs error", "int8 1x224x224x3"):
        assert word in out, out
    assert "calibrating on 20 samples from photos" in cold_run.err
    assert "Traceback" not in cold_run.err
    side = json.loads((workdir["dir"] / "mobilenetv2_int8.tflite.json").read_text())
    inp = side["inputs"][0]
    assert inp["dtype"] == "int8" and inp["scale"] > 0 and isinstance(inp["zero_point"], int)
    assert side["calibration"] == {"source": "photos", "samples": 20, "held_out_source": "photos", "held_out": 8}
