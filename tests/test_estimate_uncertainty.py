"""Every estimate carries its uncertainty, tables show it ("31 ±10% est."), and an fp32 model on a Coral target
says it runs on the host CPU (no TensorFlow: the committed tiny models)."""

from __future__ import annotations

import json

import pytest

from targets.estimate import (
    HOST_CPU,
    X86_EXPECTED_ERROR_PCT,
    backend_cell,
    estimate_bench,
    estimate_cell,
    two_digits,
)
from targets.fit import EXPECTED_FILE
from targets.registry import get_target
from tests.conftest import DATA, run_cli

EXPECTED = json.loads(EXPECTED_FILE.read_text())


@pytest.mark.parametrize(("target", "model", "family", "kind"), [
    ("rpi4", "tiny_fp32", "pi", "fp32"), ("rpi4", "tiny_int8", "pi", "int8"), ("rpi5", "tiny_int8", "pi", "int8"),
    ("coral-usb", "tiny_int8", "coral", "int8"), ("coral-devboard", "tiny_int8", "coral", "int8"),
    ("coral-usb", "tiny_fp32", "pi", "fp32"),  # runs on the host: the host CPU's error
])
def test_every_estimate_has_its_family_and_kind_error(target, model, family, kind):
    r = estimate_bench(DATA / f"{model}.tflite", get_target(target)).to_dict()
    assert r["expected_error_pct"] == EXPECTED[family][kind]


def test_this_machine_carries_the_x86_bound():
    r = estimate_bench(DATA / "tiny_int8.tflite", get_target("cpu")).to_dict()
    assert r["expected_error_pct"] == X86_EXPECTED_ERROR_PCT and r["runs_on"] == "cpu"


@pytest.mark.parametrize(("value", "text"), [(1609.753, "1600"), (31.2, "31"), (2.54, "2.5"), (0.2978, "0.30"),
                                             (0.07149, "0.071"), (99.6, "100"), (5.0, "5.0")])
def test_two_significant_digits(value, text):
    assert two_digits(value) == text


def test_estimate_cells_say_how_far_to_trust_them():
    from edgekit.result import Result

    est = Result.from_dict({"target": "rpi4", "model": "m", "measured": False, "expected_error_pct": 12})
    assert estimate_cell(31.2, est) == "31 ±12% est."
    assert estimate_cell(None, est) == "-"
    assert estimate_cell(5.1234, Result.from_dict({"target": "cpu", "model": "m", "measured": True})) == "5.12"


def test_fp32_on_coral_is_the_host_cpu_and_says_so():
    fp32_result = estimate_bench(DATA / "tiny_fp32.tflite", get_target("coral-usb"))
    fp32 = fp32_result.to_dict()
    on_pi = estimate_bench(DATA / "tiny_fp32.tflite", get_target("rpi4")).to_dict()
    assert fp32["runs_on"] == "host-cpu" and fp32["backend"] == "xnnpack"
    assert fp32["latency_ms"]["p50"] == on_pi["latency_ms"]["p50"]  # coral-usb's host is a Raspberry Pi 4
    assert backend_cell(fp32_result) == f"{HOST_CPU} est." and HOST_CPU == "on the host CPU: not Edge TPU compatible"
    assert any(w.startswith(HOST_CPU) for w in fp32["warnings"])
    int8 = estimate_bench(DATA / "tiny_int8.tflite", get_target("coral-usb"))
    assert int8.to_dict()["runs_on"] == "edgetpu" and backend_cell(int8) == "edgetpu est."


def test_bench_json_and_table_carry_the_error():
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), str(DATA / "tiny_int8.tflite"), "--target", "coral-usb",
                  "--json")
    assert run.code == 0, run.err
    docs = run.json()
    assert [d["expected_error_pct"] for d in docs] == [EXPECTED["pi"]["fp32"], EXPECTED["coral"]["int8"]]
    table = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--target", "coral-usb", env={"COLUMNS": "200"})
    assert table.code == 0, table.err
    assert f"±{EXPECTED['pi']['fp32']}% est." in table.out and HOST_CPU in table.out


def test_study_rows_show_the_error_and_the_host_cpu():
    from edgekit.study.report_md import cells
    from edgekit.study.study_row import StudyRow

    row = {"model": "mobilenetv2", "variant": "zoo", "quant": "fp32", "target": "coral-usb", "measured": False,
           "input_shape": [224, 224, 3], "params_m": 3.5, "mmacs": 300.8, "size_mb": 14.0, "macs": 300774272,
           "latency_ms": {"p50": 45.43, "p90": None}, "gmacs_per_s": 6.62, "peak_rss_mb": None,
           "estimated_memory_mb": 20.1, "accuracy_pct": None, "expected_error_pct": 10, "runs_on": "host-cpu"}
    c = cells(StudyRow.from_dict(row), {})
    assert c[4] == f"estimated {HOST_CPU}"
    # p50, then the 95% interval (none for an estimate), p90, memory, GMAC/s
    assert c[8] == "45 ±10% est." and c[9] == "-" and c[10] == "-" and c[12] == "6.6 ±10% est."


def test_study_plot_draws_error_bars(monkeypatch):
    from matplotlib.container import ErrorbarContainer

    from edgekit.study import plots
    from edgekit.study.study_row import StudyRow

    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"")
    base = {"model": "mobilenetv2", "quant": "int8", "macs": 3e8, "input_shape": [224, 224, 3]}
    rows = [{**base, "target": "cpu", "measured": True, "latency_ms": {"p50": 3.0}},
            {**base, "target": "rpi4", "measured": False, "latency_ms": {"p50": 20.0}, "expected_error_pct": 14}]
    plots.latency_vs_macs([StudyRow.from_dict(r) for r in rows], {})
    bars = [c for c in figures[0].axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1  # the estimate only
    low, high = bars[0].lines[2][0].get_segments()[0][:, 1]
    assert (low, high) == pytest.approx((20.0 * 0.86, 20.0 * 1.14))


def test_bench_csv_marks_estimates_and_their_error(tmp_path):
    import csv

    out = tmp_path / "e.csv"
    run = run_cli("bench", str(DATA / "tiny_int8.tflite"), "--target", "rpi4", "--csv", str(out))
    assert run.code == 0, run.err
    (row,) = csv.DictReader(out.open())
    assert row["measured"] == "False" and row["expected_error_pct"] == str(EXPECTED["pi"]["int8"])


def test_an_estimated_bench_reads_each_model_file_once(monkeypatch):
    """The plan's items carry the file as read when they were resolved: one estimate per thread count, one read."""
    import targets.estimate

    reads = []
    real = targets.estimate.read_tflite
    monkeypatch.setattr(targets.estimate, "read_tflite", lambda path: reads.append(path) or real(path))
    run = run_cli("bench", str(DATA / "tiny_int8.tflite"), "--target", "rpi4", "--threads", "1,2,4", "--json")
    assert run.code == 0, run.err
    assert [r["threads"] for r in json.loads(run.out)] == [1, 2, 4]
    assert reads == []
