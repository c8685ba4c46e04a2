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
    assert rows["keras-tensorflow-cpu"]["runtime"] == f"Keras on tensorflow {tf.__version__} (graph)"
    assert rows["keras-tensorflow-cpu"]["p50_ms"] == keras["latency_ms"]["p50"]
    assert doc["failures"] == [{"step": "litert-gpu_tiny_fp32",
                                "reason": "edgekit: error: no usable GPU: LiteRT said: no adapter"}]
    report = (out / "report.md").read_text()
    assert "CPU-only run" in report and "| lenet5 | fp32 | Keras on tensorflow" in report
    assert "- litert-gpu_tiny_fp32: edgekit: error: no usable GPU" in report
    assert "- keras-jax-gpu_lenet5: exit 1 (see its log)" in report and report.count("litert-gpu_tiny_fp32") == 1


def test_emulated_gpu_rows_peer_lines_and_step_times(tmp_path):
    """A LiteRT GPU row on a software adapter is marked emulated and not counted as a GPU row; the torchvision
    peer's JSON lines each become a row (or a failure); each step's seconds and a timeout's reason are kept."""
    jdir, out = tmp_path / "json", tmp_path / "out"
    jdir.mkdir()
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--runs", "5", "--min-seconds", "0", "--rounds", "2",
                  "--json", "--db", str(tmp_path / "r.db"))
    assert run.code == 0, run.err
    (cpu,) = run.json()
    gpu = {**cpu, "target": "gpu", "threads": None, "sync": "readback", "emulated": True,
           "gpu_adapter": {"name": "llvmpipe (LLVM 15.0.6, 256 bits)", "arch": "software", "vendor": "mesa",
                           "backend": "Vulkan", "type": "CPU / Software"}}
    (jdir / "litert-gpu_tiny_fp32.json").write_text(json.dumps([gpu]))
    peer = {"model": "mobilenetv2", "execution": "eager", "torchvision_version": "0.26.0", "backend_version": "2.11.0",
            "device_name": "NVIDIA H200", "latency_ms": cpu["latency_ms"] | {"ci95": None}, "cv": 0.01, "runs": 100}
    (jdir / "torchvision-gpu_peer.json").write_text(json.dumps(peer) + "\n" + json.dumps(
        {"model": "vgg16", "error": "RuntimeError: CUDA out of memory"}) + "\n")
    (jdir / "keras-jax-gpu_vgg16.json").write_text("")
    (jdir / "keras-jax-gpu_vgg16.json.err").write_text("phase import: 4.700 s (total 4.700 s)\n")
    (tmp_path / "steps.tsv").write_text("pytest\t0\t12.5\t\nkeras-jax-gpu_vgg16\t124\t90.0\ttimed out: still "
                                        "running after its limit of 90 s\n"
                                        "litert-gpu_x\t125\t0\tskipped: no time left\n")
    assert main([str(jdir), str(out), "--steps", str(tmp_path / "steps.tsv")]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["gpu_rows"] == 1 and doc["emulated_rows"] == 1  # the peer's row is a GPU row; lavapipe's is not
    rows = {r["source"]: r for r in doc["rows"]}
    assert rows["litert-gpu"]["emulated"] is True and rows["litert-gpu"]["sync"] == "readback"
    assert rows["litert-gpu"]["device"] == "llvmpipe (LLVM 15.0.6, 256 bits)"
    assert rows["torchvision-gpu"]["runtime"] == "torchvision 0.26.0 on torch 2.11.0 (eager)"
    assert {"step": "torchvision-gpu_peer vgg16", "reason": "RuntimeError: CUDA out of memory"} in doc["failures"]
    timed_out = "timed out: still running after its limit of 90 s"
    assert {"step": "keras-jax-gpu_vgg16", "reason": timed_out} in doc["failures"]
    assert doc["steps"][1] == {"step": "keras-jax-gpu_vgg16", "exit": 124, "seconds": 90.0,
                               "reason": "timed out: still running after its limit of 90 s"}
    report = (out / "report.md").read_text()
    assert "llvmpipe (LLVM 15.0.6, 256 bits) (emulated: the CPU's speed, not a GPU's)" in report
    assert "never a GPU's speed" in report and "- litert-gpu_x: skipped: no time left" in report
    assert "| keras-jax-gpu_vgg16 | 124 | 90.0 |" in report


def test_readme_gpu_table_is_the_example_s():
    """The README's GPU table quotes docs/gpu-example/results.json: each LiteRT GPU figure with its interval,
    marked unverified until a run with readback replaces it, and each peer figure."""
    from tests.conftest import ROOT

    doc = json.loads((ROOT / "docs" / "gpu-example" / "results.json").read_text())
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| model | LiteRT GPU fp32 |")
    table = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
             for line in readme[start:].split("\n\n")[0].splitlines()[2:]}
    column = {"fp32": 1, "fp16": 2}
    litert = [r for r in doc["rows"] if r["runtime"].startswith("LiteRT")]
    assert len(litert) == 6 and all(r["status"] == "unverified: synchronisation not yet shown" for r in litert)
    for r in litert:
        lo, hi = r["ci95_ms"]
        assert table[r["model"]][column[r["quant"]]] == (f"{r['p50_ms']:.3f} ({lo:.3f}–{hi:.3f}) unverified: "
                                                         "synchronisation not yet shown")
    for r in doc["rows"]:
        if r["runtime"].startswith("torchvision"):
            assert table[r["model"]][5] == f"{r['p50_ms']:.3f}"
        elif r["execution"] == "eager":  # Keras on torch
            assert table[r["model"]][4] == f"{r['p50_ms']:.2f}"
    assert table["resnet50"][3] == table["vgg16"][3] == "owed" and doc["owed"]
