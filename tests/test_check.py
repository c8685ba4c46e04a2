"""``edgekit check`` on real int8 and fp32 MobileNetV2 files, and estimates of them (TensorFlow tier)."""

from __future__ import annotations

import pytest

from targets.registry import get_target
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf

BENCH_KEYS = {"target", "model", "quant", "threads", "measured", "latency_ms", "init_ms", "first_ms", "peak_rss_mb",
              "size_bytes", "macs", "gmacs_per_s", "backend", "device"}


@pytest.fixture(scope="module")
def mobilenetv2_files(tmp_path_factory):
    """A small MobileNetV2 (alpha 0.35, 96x96) as fp32 and as full int8, converted as users do (dynamic batch)."""
    tf = pytest.importorskip("tensorflow")
    import numpy as np

    from edgekit.models import build

    model = build("mobilenetv2", input_shape=96, alpha=0.35, classes=10)
    out = tmp_path_factory.mktemp("check")
    files = {}
    samples = np.random.default_rng(0).random((3, 1, 96, 96, 3), dtype=np.float32)
    for quant in ("fp32", "int8"):
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if quant == "int8":
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([x] for x in samples)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = conv.inference_output_type = tf.int8
        files[quant] = out / f"mobilenetv2_{quant}.tflite"
        files[quant].write_bytes(conv.convert())
    return files


def test_int8_passes_and_fp32_fails(mobilenetv2_files):
    int8 = run_cli("check", str(mobilenetv2_files["int8"]), "--target", "coral-usb", "--json")
    fp32 = run_cli("check", str(mobilenetv2_files["fp32"]), "--target", "coral-usb", "--json")
    # one rule for every check command: 0 = yes, 1 = checked and the answer is no (the JSON is still printed)
    assert int8.code == 0 and fp32.code == 1, (int8, fp32)
    a, b = int8.json(), fp32.json()
    assert a["compatible"] is True and a["reasons"] == [] and a["ops_on_tpu"] == a["ops_total"]
    assert b["compatible"] is False and b["first_unsupported"] == 0 and b["ops_on_tpu"] == 0
    assert any("not fully 8-bit" in r for r in b["reasons"]) and any("float32" in r for r in b["reasons"])
    assert 0 < a["param_bytes_on_tpu"] < a["param_cache_bytes"] and a["streamed_param_bytes"] == 0


def test_check_table_and_errors(mobilenetv2_files, tmp_path):
    run = run_cli("check", str(mobilenetv2_files["fp32"]), "--target", "coral")
    assert run.code == 1 and "not compatible" in run.out and "CONV_2D" in run.out
    assert "is not fully compatible with coral-usb" in run.err
    corrupt = tmp_path / "bad.tflite"
    corrupt.write_bytes(mobilenetv2_files["int8"].read_bytes()[:5000])
    assert "truncated or corrupt" in assert_one_line_error(run_cli("check", str(corrupt)), 1)
    assert "not found" in assert_one_line_error(run_cli("check", str(tmp_path / "none.tflite")), 1)
    assert "Edge TPU targets" in assert_one_line_error(
        run_cli("check", str(mobilenetv2_files["int8"]), "--target", "rpi4"), 2)


@pytest.mark.parametrize("target", ["rpi4", "rpi5", "coral-usb", "coral-devboard", "cpu"])
def test_estimate_has_the_bench_keys(mobilenetv2_files, target):
    from targets.estimate import estimate_bench

    r = estimate_bench(mobilenetv2_files["int8"], get_target(target)).to_dict()
    assert BENCH_KEYS <= set(r) and r["measured"] is False and r["estimate_method"]
    assert r["quant"] == "int8" and r["latency_ms"]["p50"] > 0 and r["latency_ms"]["p99"] is None
    assert r["init_ms"] is None and r["peak_rss_mb"] is None and r["macs"] > 0


def test_coral_runs_fp32_on_the_host_cpu(mobilenetv2_files):
    from targets.estimate import estimate_bench

    fp32 = estimate_bench(mobilenetv2_files["fp32"], get_target("coral-usb")).to_dict()
    int8 = estimate_bench(mobilenetv2_files["int8"], get_target("coral-usb")).to_dict()
    assert fp32["estimate"]["tpu_compute_ms"] == 0 and fp32["estimate"]["host_cpu_ops_ms"] > 0
    assert int8["estimate"]["host_cpu_ops_ms"] == 0 and int8["estimate"]["tpu_compute_ms"] > 0


def test_bench_estimates_device_target_with_est_labels(mobilenetv2_files):
    run = run_cli("bench", str(mobilenetv2_files["int8"]), "--target", "rpi")
    assert run.code == 0, run
    assert "est." in run.out and "no device measured" in run.out


@pytest.mark.slow
def test_acceptance_bench_zoo_mobilenet_int8_rpi4_json():
    run = run_cli("bench", "mobilenet", "--quant", "int8", "--target", "rpi4", "--json")
    assert run.code == 0, run.err[-2000:]
    (result,) = run.json()
    assert result["measured"] is False and result["target"] == "rpi4" and result["quant"] == "int8"
    assert 15 < result["latency_ms"]["p50"] < 60  # published: 24-29 ms (XNNPACK, 4 threads)
