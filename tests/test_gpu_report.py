"""edgekit.app.gpu_report, which scripts/gpu_check.sh ends with: real bench and baseline documents become one
table, and a failed step keeps its one-line reason."""

from __future__ import annotations

import json

import pytest

from edgekit.app.gpu_report import main
from tests.conftest import DATA, run_cli


@pytest.mark.tf
def test_report_joins_litert_and_keras_rows_and_names_failures(tmp_path, tf):
    from edgekit.app.gpu_baseline import baseline_in_child

    jdir, out = tmp_path / "json", tmp_path / "out"
    jdir.mkdir()
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--runs", "5", "--min-seconds", "0", "--json",
                  "--db", str(tmp_path / "r.db"))
    assert run.code == 0, run.err
    (jdir / "litert-cpu_tiny_fp32.json").write_text(run.out)
    keras = baseline_in_child("lenet5", device="cpu", backend="tensorflow", runs=5, warmup=1, min_seconds=0)
    (jdir / "keras-tensorflow-cpu_lenet5.json").write_text(json.dumps(keras))
    (jdir / "litert-gpu_tiny_fp32.json").write_text("")
    (jdir / "litert-gpu_tiny_fp32.json.err").write_text("edgekit: error: no usable GPU: LiteRT said: no adapter\n")
    (tmp_path / "gpu.txt").write_text("NVIDIA H100 80GB HBM3, 580.159.04, 81559 MiB\n")
    (tmp_path / "steps.tsv").write_text("pytest\t0\nlitert-gpu_tiny_fp32\t1\nkeras-jax-gpu_lenet5\t1\n")

    assert main([str(jdir), str(out), "--gpu", str(tmp_path / "gpu.txt"), "--steps", str(tmp_path / "steps.tsv"),
                 "--cpu-only"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["measured"] is True and doc["cpu_only"] is True and doc["gpu_rows"] == 0
    assert doc["gpu"] == {"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04", "memory": "81559 MiB"}
    rows = {r["source"]: r for r in doc["rows"]}
    assert rows["litert-cpu"]["model"] == "tiny" and rows["litert-cpu"]["quant"] == "fp32"
    assert rows["keras-tensorflow-cpu"]["runtime"] == f"Keras on tensorflow {tf.__version__}"
    assert rows["keras-tensorflow-cpu"]["p50_ms"] == keras["latency_ms"]["p50"]
    assert doc["failures"] == [{"step": "litert-gpu_tiny_fp32",
                                "reason": "edgekit: error: no usable GPU: LiteRT said: no adapter"}]
    report = (out / "report.md").read_text()
    assert "CPU-only run" in report and "| lenet5 | fp32 | Keras on tensorflow" in report
    assert "- litert-gpu_tiny_fp32: edgekit: error: no usable GPU" in report
    assert "- keras-jax-gpu_lenet5: exit 1 (see its log)" in report and report.count("litert-gpu_tiny_fp32") == 1
