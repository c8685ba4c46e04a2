"""Zoo models on microcontroller targets, converted as a user would (``edgekit convert ... --int8 -o``; the full-size
MobileNet v2 is the session's one int8 conversion of it, tests/_mnv2.py, as ``edgekit bench mobilenetv2`` makes it):
LeNet-5 and MobileNet v1 0.25@96 fit a Cortex-M7 and TFLite Micro agrees with LiteRT within one step;
MobileNet v2 1.0@224 does not fit a Cortex-M4, with numbers; a float model gets an honest answer."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.tf, pytest.mark.slow, pytest.mark.heavy]  # zoo models in TFLite Micro: CI's heavy tier
pytest.importorskip("tflite_micro", reason="the [mcu] extra (tflite-micro) is part of [all]; CI installs it")

CONVERSIONS = {
    "lenet5_int8": ("lenet5", "--int8"),
    "mobilenet025_96_int8": ("mobilenet", "--alpha", "0.25", "--input-size", "96", "--int8"),
    "mobilenet025_96_fp32": ("mobilenet", "--alpha", "0.25", "--input-size", "96"),
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, tf):
    out = tmp_path_factory.mktemp("mcu")
    files = {}
    for name, args in CONVERSIONS.items():
        files[name] = out / f"{name}.tflite"
        run = run_cli("convert", *args, "-o", str(files[name]), "--samples", "4", "--force")
        assert run.code == 0, run.err
    from tests._mnv2 import mobilenetv2

    files["mobilenetv2_int8"] = mobilenetv2("int8")
    return files


@pytest.mark.parametrize("name", ["lenet5_int8", "mobilenet025_96_int8"])
def test_int8_zoo_models_fit_a_cortex_m7(zoo, name):
    check = run_cli("check", str(zoo[name]), "--target", "cortex-m7", "--json")
    assert check.code == 0, check.err
    doc = check.json()
    assert doc["fits"] is True and doc["reasons"] == [] and doc["quant"] == "int8"
    assert doc["arena"]["verified"] and 0 < doc["arena_bytes"] <= doc["arena_budget_bytes"]
    assert 0 < doc["interpreter_overhead_bytes"] == doc["arena"]["tail_bytes"] < doc["arena_bytes"]
    bench = run_cli("bench", str(zoo[name]), "--target", "cortex-m7", "--json")
    assert bench.code == 0, bench.err
    r = bench.json()[0]
    assert r["outputs_vs_local"]["max_diff_steps"] <= 1
    assert r["measured"] is False and r["latency_ms"]["p50"] > 0 and r["expected_error_pct"] > 0
    assert r["ram"]["arena_bytes"] == doc["arena_bytes"]


def test_mobilenetv2_does_not_fit_a_cortex_m4(zoo):
    run = run_cli("check", str(zoo["mobilenetv2_int8"]), "--target", "cortex-m4", "--json")
    assert run.code == 1, run.err  # does not fit: the report, then exit 1
    assert "does not fit cortex-m4: arena needs" in run.err
    doc = run.json()
    assert doc["fits"] is False and doc["arena_bytes"] > doc["arena_budget_bytes"]
    arena = next(r for r in doc["reasons"] if r.startswith("arena needs"))
    flash = next(r for r in doc["reasons"] if r.startswith("flash needs"))
    needed, budget = (float(x.replace(",", "")) for x in re.findall(r"([\d,.]+) KiB", arena)[:2])
    assert needed == pytest.approx(doc["arena_bytes"] / 1024, abs=0.1) and budget == 640
    assert doc["flash_bytes"] > doc["flash_budget_bytes"] and "2,048.0 KiB" in flash


def test_float_model_gets_an_honest_answer(zoo):
    run = run_cli("bench", str(zoo["mobilenet025_96_fp32"]), "--target", "cortex-m7", "--json")
    assert run.code == 0, run.err
    r = run.json()[0]
    int8 = run_cli("check", str(zoo["mobilenet025_96_int8"]), "--target", "cortex-m7", "--json").json()
    fp32 = run_cli("check", str(zoo["mobilenet025_96_fp32"]), "--target", "cortex-m7", "--json").json()
    assert r["quant"] == "fp32" and r["latency_ms"]["p50"] is None and r["ram"]["arena_bytes"] == fp32["arena_bytes"]
    # float32 activations take 4 bytes where int8 take 1 (the interpreter's own tail is the same size)
    assert fp32["arena"]["head_bytes"] > 3.5 * int8["arena"]["head_bytes"]
    assert fp32["model_bytes"] > 3 * int8["model_bytes"]
    assert any("slow" in w and "4x the bytes" in w for w in r["warnings"])


def test_study_says_how_much_sram_a_model_that_does_not_fit_needs(zoo):
    from tests.test_mcu import _study_cells

    cells = _study_cells(zoo["mobilenetv2_int8"], "cortex-m4")
    check = run_cli("check", str(zoo["mobilenetv2_int8"]), "--target", "cortex-m4", "--json").json()
    assert cells[8] == f"does not fit: needs {check['arena_bytes'] / 1024:,.0f} KiB SRAM"
    assert _study_cells(zoo["lenet5_int8"], "cortex-m7")[8].endswith(" est.")
