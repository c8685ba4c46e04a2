"""``edgekit study`` without TensorFlow: the seed's arithmetic, layer kinds, the Pareto front, the report's
rendering and every bad input (each a one-line error before any work)."""

from __future__ import annotations

import pytest

from edgekit.analysis import read_tflite
from edgekit.analysis.kinds import LayerKind, kinds_tflite, totals
from edgekit.study.facts import published, seed_arithmetic
from edgekit.study.plots import pareto
from tests._study import check_report_matches
from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli

EXAMPLE = ROOT / "docs" / "study-example"


def test_seed_arithmetic_is_computed_by_the_analysis():
    a = seed_arithmetic()
    s, b = a["separable"], a["bottleneck"]
    assert (s["standard"], s["depthwise"], s["pointwise"], s["separable"]) == (2160, 432, 240, 672)
    assert (b["direct"], b["squeeze_1x1"], b["conv_5x5"], b["bottlenecked"]) == (
        120_422_400, 2_408_448, 10_035_200, 12_443_648)


def test_layer_kinds_of_the_seed_files():
    standard = kinds_tflite(read_tflite(DATA / "seed_standard.tflite"))
    separable = kinds_tflite(read_tflite(DATA / "seed_separable.tflite"))
    assert [r.kind for r in standard] == [LayerKind.CONV]
    assert [r.kind for r in separable] == [LayerKind.DEPTHWISE, LayerKind.POINTWISE]
    assert totals(separable)[LayerKind.DEPTHWISE.value] + totals(separable)[LayerKind.POINTWISE.value] == 672
    assert totals(standard)[LayerKind.CONV.value] == 2160


def test_pareto_front():
    pts = [(1.0, 50.0), (2.0, 40.0), (3.0, 90.0), (0.5, 10.0), (5.0, 89.0)]
    assert pareto(pts) == [(0.5, 10.0), (1.0, 50.0), (3.0, 90.0)]


def test_published_top1_is_cited_or_explained():
    pub = published(["lenet5", "vgg16", "mobilenetv2", "googlenet"])
    assert pub["vgg16"]["top1_pct"] == 71.3 and "keras.io" in pub["vgg16"]["source"]
    assert pub["lenet5"]["top1_pct"] is None and pub["googlenet"]["top1_pct"] is None
    assert all(p["source"] for p in pub.values())


def _row(target, measured, p50):
    row = {"model": "mobilenetv2", "variant": "zoo", "quant": "int8", "target": target, "measured": measured,
           "input_shape": [224, 224, 3], "params_m": 3.539, "mmacs": 300.77, "size_mb": 4.006, "size_bytes": 4006000,
           "macs": 300774272, "latency_ms": {"p50": p50, "p90": p50 if measured else None}, "gmacs_per_s": 1.5,
           "peak_rss_mb": 70.1 if measured else None, "accuracy_pct": None}
    if not measured:
        row["estimated_memory_mb"] = 4.8
    return row


def test_report_marks_every_estimated_cell():
    from edgekit.study.report import cells, footnotes

    doc = {"published_imagenet_top1": published(["mobilenetv2"])}
    notes, texts = footnotes(doc)
    measured, estimated = cells(_row("cpu", True, 5.1234), notes), cells(_row("rpi4", False, 19.26), notes)
    assert measured[4] == "measured" and not any(c.endswith("est.") for c in measured)
    assert estimated[4] == "estimated"
    assert estimated[8] == "19.26 est." and estimated[10] == "4.8 est." and estimated[11] == "1.5 est."
    assert measured[12] == "not measured" and measured[13] == "71.3 [1]" and "keras.io" in texts[0]


def test_emulated_rows_are_marked_in_the_table_and_left_out_of_the_plots(monkeypatch):
    from edgekit.study import plots, report

    emulated = {**_row("aarch64", True, 80.0), "host": "arm", "emulated": True}
    assert report.cells(emulated, {})[4] == "measured on arm (emulated: not a device's speed)"
    seen = []
    monkeypatch.setattr(plots, "latency_vs_macs", lambda rows, t: seen.append(rows) or b"")
    monkeypatch.setattr(plots, "size_by_quant", lambda rows, t: b"")
    report.make_plots({"rows": [_row("cpu", True, 5.0), emulated], "layers": {}})
    assert [r["target"] for r in seen[0]] == ["cpu"]


@pytest.mark.parametrize(("args", "needle"), [
    (("--models", "lenet5,mobilenetv3"), "unknown model 'mobilenetv3'"),
    (("--targets", "cpu,rpi9"), "unknown target 'rpi9'"),
    (("--host", "rpi9=pi@raspberrypi"), "unknown target 'rpi9'"),
    (("--host", "cpu=pi@raspberrypi"), "this machine"),
    (("--host", "rpi5=pi@raspberrypi"), "not in --targets"),
    (("--host", "rpi4"), "TARGET=HOST"),
    (("--targets", "cpu,auto"), "--targets auto measures a device as what it is and has no estimate"),
    (("--quant", "fp32,int4"), "unknown quantization mode 'int4'"),
    (("--threads", "0"), "--threads"),
])
def test_bad_input_is_one_line(tmp_path, args, needle):
    run = run_cli("study", "--quick", "--out", str(tmp_path / "out"), "--db", str(tmp_path / "r.db"), *args)
    line = assert_one_line_error(run, 2)
    assert needle in line
    assert not (tmp_path / "out").exists()


def test_existing_out_needs_force(tmp_path):
    (tmp_path / "out").mkdir()
    line = assert_one_line_error(run_cli("study", "--quick", "--out", str(tmp_path / "out"), "--db",
                                         str(tmp_path / "r.db")), 2)
    assert "already exists" in line and "--force" in line


def test_committed_example_is_consistent():
    """docs/study-example (a real --quick run) covers the acceptance grid and its table is its JSON."""
    import json

    doc = json.loads((EXAMPLE / "results.json").read_text())
    check_report_matches(doc, (EXAMPLE / "report.md").read_text())
    grid = {(r["model"], r["quant"], r["target"], r["measured"]) for r in doc["rows"]}
    for m in ("lenet5", "vgg16", "resnet50", "mobilenet", "mobilenetv2"):
        for q in ("fp32", "int8"):
            assert {(m, q, "cpu", True), (m, q, "rpi4", False), (m, q, "coral-usb", False)} <= grid
    assert (EXAMPLE / "latency_vs_macs.png").stat().st_size > 10_000
