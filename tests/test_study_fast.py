"""``edgekit study`` without TensorFlow: the seed's arithmetic, layer kinds, the Pareto front, the report's
rendering and every bad input (each a one-line error before any work)."""

from __future__ import annotations

import pytest

from edgekit.analysis import read_tflite
from edgekit.analysis.kinds import LayerKind, kinds_tflite, totals
from edgekit.study.facts import published, seed_arithmetic
from edgekit.study.plots import pareto
from edgekit.study.study_row import StudyRow
from tests._study import check_report_matches, table_lines
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


def _one(doc: dict) -> StudyRow:
    return StudyRow.from_dict(doc)


def _rows(*docs) -> list[StudyRow]:
    """The study rows of hand-made results.json rows."""
    return [StudyRow.from_dict(d) for d in docs]


def _row(target, measured, p50):
    row = {"model": "mobilenetv2", "variant": "zoo", "quant": "int8", "target": target, "measured": measured,
           "input_shape": [224, 224, 3], "params_m": 3.539, "mmacs": 300.77, "size_mb": 4.006, "size_bytes": 4006000,
           "macs": 300774272, "latency_ms": {"p50": p50, "p90": p50 if measured else None}, "gmacs_per_s": 1.5,
           "peak_rss_mb": 70.1 if measured else None, "accuracy_pct": None}
    if not measured:
        row["estimated_memory_mb"] = 4.8
    return row


def test_report_marks_every_estimated_cell():
    from edgekit.study.report_md import cells, footnotes

    doc = {"published_imagenet_top1": published(["mobilenetv2"])}
    notes, texts = footnotes(doc)
    measured, estimated = cells(_one(_row("cpu", True, 5.1234)), notes), cells(_one(_row("rpi4", False, 19.26)), notes)
    assert measured[4] == "measured" and not any(c.endswith("est.") for c in measured)
    assert estimated[4] == "estimated"
    assert estimated[8] == "19 est." and estimated[11] == "4.8 est." and estimated[12] == "1.5 est."
    with_error = cells(_one({**_row("rpi4", False, 19.26), "expected_error_pct": 14}), notes)
    assert with_error[8] == "19 ±14% est." and with_error[12] == "1.5 ±14% est."
    assert measured[14] == "not measured" and measured[15] == "71.3 [1]" and "keras.io" in texts[0]
    assert measured[13] == "-"  # no energy figure in the row
    from edgekit.energy import EnergyFigure

    fig = EnergyFigure(mj=2.5, measured=False, source="estimated: x", low_mj=1.5, high_mj=3.5, expected_error_pct=40)
    assert cells(_one({**_row("rpi4", False, 19.26), **fig.to_dict()}), notes)[13] == "2.5 ±40% est."
    fig = EnergyFigure(mj=12.0, measured=True, source="RAPL package-0", low_mj=11.0, high_mj=13.5, rounds=6)
    assert cells(_one({**_row("cpu", True, 5.1), **fig.to_dict()}), notes)[13] == "12 (11–14)"


def test_energy_sentence_and_plot_from_the_rows():
    from edgekit.energy import EnergyFigure
    from edgekit.study.plots import energy_vs_macs
    from edgekit.study.summary import energy_versus

    t = {"mobilenetv2": "MobileNet v2", "vgg16": "VGG-16"}
    mnv2 = {**_row("rpi4", False, 19.26), **EnergyFigure(mj=2.0, measured=False, source="e", low_mj=1.0,
                                                             high_mj=3.0, expected_error_pct=50).to_dict()}
    vgg = {**_row("rpi4", False, 900.0), "model": "vgg16", "quant": "fp32", "macs": 15_470_264_320,
           **EnergyFigure(mj=100.0, measured=False, source="e", low_mj=50.0, high_mj=150.0,
                          expected_error_pct=50).to_dict()}
    text = energy_versus(_rows(mnv2, {**vgg, "energy_source": "other"}), "rpi4", t)
    assert text.startswith("Energy per inference above idle, MobileNet v2 int8 to VGG-16 fp32 on rpi4 (estimated")
    assert "ratio 0.02 (interval 0.00667–0.06, from the two figures' own)" in text and "50 times less energy" in text
    # one power figure prices both: it cancels, and the interval is the latencies' (their ±10% each)
    same = energy_versus(_rows({**mnv2, "expected_error_pct": 10}, {**vgg, "expected_error_pct": 10}), "rpi4", t)
    assert "ratio 0.02 (interval 0.0164–0.0244, the latency ratio's" in same
    tpu = {**mnv2, "energy_covers": "the Edge TPU only"}
    assert "not like for like: the first covers the Edge TPU only" in energy_versus(_rows(tpu, vgg), "rpi4", t)
    none = {**vgg, **EnergyFigure.unavailable("none", "no RAPL here").to_dict()}
    assert energy_versus(_rows(mnv2, none), "rpi4", t).endswith("not available (no RAPL here).")
    png = energy_vs_macs(_rows(mnv2, vgg), t)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000



def test_report_marks_noisy_rows_with_their_interval():
    from edgekit.study.report_html import html_page
    from edgekit.study.report_md import cells, markdown

    quiet = {**_row("cpu", True, 5.1), "noisy": False, "rounds": 6}
    quiet["latency_ms"]["ci95"] = [5.0, 5.2]
    noisy = {**_row("cpu", True, 7.0), "quant": "fp32", "noisy": True, "rounds": 30}
    noisy["latency_ms"]["ci95"] = [5.9, 8.8]
    quiet, noisy = _rows(quiet, noisy)
    assert cells(quiet, {})[8:10] == ["5.1", "5.0–5.2"]
    assert cells(noisy, {})[8:10] == ["7.0 NOISY", "5.9–8.8"]
    doc = {"published_imagenet_top1": published(["mobilenetv2"]), "edgekit": "0", "commit": "c", "time_utc": "t",
           "host": {"cpu": "x", "usable_cores": 2}, "plan": {"models": ["mobilenetv2"], "quants": ["int8", "fp32"],
                                                             "targets": ["cpu"], "quick": True},
           "conclusion": [], "rows": [quiet, noisy], "arithmetic": seed_arithmetic(), "layers": {}, "training": {}}
    md = markdown(doc, [])
    assert "| 7.0 NOISY | 5.9–8.8 |" in md and "NOISY = the interval stayed wider" in md
    page = html_page(doc, {})
    assert page.count('<tr class="noisy"') == 1 and "<td>7.0 NOISY</td><td>5.9–8.8</td>" in page


def test_emulated_rows_are_marked_in_the_table_and_left_out_of_the_plots(monkeypatch):
    from edgekit.study import plots, report, report_md

    emulated = _one({**_row("aarch64", True, 80.0), "host": "arm", "emulated": True})
    assert report_md.cells(emulated, {})[4] == "measured on arm (emulated: not a device's speed)"
    seen = []
    monkeypatch.setattr(plots, "latency_vs_macs", lambda rows, t: seen.append(rows) or b"")
    monkeypatch.setattr(plots, "size_by_quant", lambda rows, t: b"")
    report.make_plots({"rows": [_one(_row("cpu", True, 5.0)), emulated], "layers": {}})
    assert [r.target for r in seen[0]] == ["cpu"]


@pytest.mark.parametrize(("args", "needle"), [
    (("--models", "lenet5,mobilenetv3"), "unknown model 'mobilenetv3'"),
    (("--targets", "cpu,rpi9"), "unknown target 'rpi9'"),
    (("--host", "rpi9=pi@raspberrypi"), "unknown target 'rpi9'"),
    (("--host", "cpu=pi@raspberrypi"), "this machine"),
    (("--host", "rpi5=pi@raspberrypi"), "not in --targets"),
    (("--targets", "cpu,cortex-m7", "--host", "cortex-m7=pi@x"), "microcontroller"),
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
    estimated = [r for r in doc["rows"] if not r["measured"]]
    assert estimated and all(isinstance(r["expected_error_pct"], int) and r["expected_error_pct"] > 0
                             for r in estimated)
    assert {r["runs_on"] for r in estimated if r["target"] == "coral-usb" and r["quant"] == "fp32"} == {"host-cpu"}
    # issue 10: a cold run (nothing reused) at a clean commit, every measured row with its interval and rounds
    assert doc["counts"]["reused_from_db"] == 0 and not doc["commit"].endswith("+dirty"), doc["commit"]
    measured = [r for r in doc["rows"] if r["measured"]]
    for r in measured:
        lo, hi = r["latency_ms"]["ci95"]
        assert lo <= r["latency_ms"]["p50"] <= hi and r["rounds"] >= 6 and isinstance(r["noisy"], bool), r
        assert r["threads"] == 1  # the study's cpu default, as edgekit bench
    report = (EXAMPLE / "report.md").read_text()
    assert "(threads: cpu 1, rpi4 4, coral-usb 4)" in report
    assert table_lines((ROOT / "README.md").read_text()) == table_lines(report), "README's table is not the example's"


def test_the_study_measures_this_cpu_at_one_thread_and_a_device_at_its_cores(tmp_path):
    from edgekit.study.collect import threads_for
    from edgekit.study.plan import make_plan
    from edgekit.study.report_md import _threads_text

    def plan(threads):
        return make_plan(models="lenet5", quants="fp32", targets="cpu,rpi4,gpu", hosts=None, data=None,
                         threads=threads, quick=True, out=tmp_path / "out", force=False, db=tmp_path / "r.db")

    assert [threads_for(plan(None), t) for t in ("cpu", "rpi4", "gpu")] == [1, 4, None]
    assert [threads_for(plan(3), t) for t in ("cpu", "rpi4", "gpu")] == [3, 3, None]
    rows = _rows(*({"model": "m", "target": t, "threads": n} for t, n in (("cpu", 1), ("rpi4", 4), ("gpu", None))))
    assert _threads_text(rows) == " (threads: cpu 1, rpi4 4)"


def _timed(model, quant, rounds, run_id="r1"):
    from bench.protocol import summarize_rounds

    s = summarize_rounds(rounds).to_dict()
    return {"model": model, "quant": quant, "target": "cpu", "variant": "zoo", "measured": True, "run_id": run_id,
            "round_ms": rounds, "round_ids": list(range(len(rounds))), "noisy": s["noisy"], "rounds": s["rounds"],
            "latency_ms": {"p50": s["p50"], "ci95": s["ci95"]}}


def test_conclusion_states_int8_against_fp32_with_its_interval():
    from edgekit.study.summary import quant_versus, titles

    base = [3.0, 3.1, 2.9, 3.05, 2.95, 3.0]
    rows = [_timed("mobilenetv2", "int8", [x / 2.1 for x in base]), _timed("mobilenetv2", "fp32", base),
            _timed("lenet5", "int8", [0.02, 0.03, 0.02, 0.03, 0.02, 0.03]),
            _timed("lenet5", "fp32", [0.03, 0.02, 0.03, 0.02, 0.03, 0.02])]
    rows = _rows(*rows)
    text = quant_versus(rows, "cpu", titles())
    assert "MobileNet v2: int8 is 2.1x faster than fp32 (2.1–2.1x)" in text  # paired by round: exactly 2.1
    assert "LeNet-5: no measurable difference between int8 and fp32" in text
    assert quant_versus(rows, "rpi4", titles()) is None
