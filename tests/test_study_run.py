"""``edgekit study`` end to end on a small grid (LeNet-5 and MobileNet v2, fp32 and int8, cpu measured and
rpi4 / coral-usb estimated), then again to show that a re-run measures nothing; and with ``--data digits``.

The full ``--quick`` acceptance grid (five models, about 4 to 10 minutes on 2 cores) is marked heavy: it runs
in CI's second tier (``pytest -m heavy``), not in the default suite.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time

import pytest

from tests._study import check_report_matches
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.tf, pytest.mark.heavy]  # the study end to end: CI's heavy tier
SMALL = ("--models", "lenet5,mobilenetv2", "--quant", "fp32,int8", "--targets", "cpu,rpi4,coral-usb", "--quick")


@pytest.fixture(scope="module")
def home(tmp_path_factory, tf):
    root = tmp_path_factory.mktemp("study")
    env = {"EDGEKIT_CACHE_DIR": str(root / "cache"), "EDGEKIT_BENCH_DIR": str(root / "models")}
    return root, env


def _rows_in_db(db) -> int:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT COUNT(*) FROM results").fetchone()[0]


@pytest.fixture(scope="module")
def small(home):
    root, env = home
    db, out = root / "r.db", root / "out"
    t0 = time.perf_counter()
    # both runs take the very same arguments; --force lets the second replace the first one's report
    first = run_cli("study", *SMALL, "--out", str(out), "--db", str(db), "--force", env=env, cwd=root)
    first_s = time.perf_counter() - t0
    assert first.code == 0, first.err[-3000:]
    doc = json.loads((out / "results.json").read_text())
    after_first = _rows_in_db(db)
    t0 = time.perf_counter()
    second = run_cli("study", *SMALL, "--out", str(out), "--db", str(db), "--force", env=env, cwd=root)
    second_s = time.perf_counter() - t0
    assert second.code == 0, second.err[-3000:]
    print(f"small study: first run {first_s:.1f} s, second run {second_s:.1f} s")
    return {"out": out, "doc": doc, "first_s": first_s, "second_s": second_s, "new_rows": _rows_in_db(db) - after_first,
            "first": first, "second": second, "doc2": json.loads((out / "results.json").read_text())}


def test_outputs_and_grid(small):
    out, doc = small["out"], small["doc"]
    for name in ("results.json", "results.csv", "report.md", "report.html", "latency_vs_macs.png",
                 "size_by_quant.png", "layer_macs.png"):
        assert (out / name).is_file(), name
    cells = {(r["model"], r["quant"], r["target"]) for r in doc["rows"]}
    assert len(doc["rows"]) == len(cells) == 12
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 12


def test_estimates_are_marked_in_json(small):
    for r in small["doc"]["rows"]:
        if r["target"] == "cpu":
            assert r["measured"] is True and r["peak_rss_mb"] > 0 and r["latency_ms"]["p90"] is not None
        else:
            assert r["measured"] is False and r["estimate_method"] and r["estimated_memory_mb"] > 0
            assert r["expected_error_pct"] > 0 and r["runs_on"] in ("cpu", "edgetpu", "host-cpu")
        assert r["accuracy_pct"] is None and r["accuracy_note"].startswith("not measured")


def test_report_numbers_match_the_json(small):
    check_report_matches(small["doc"], (small["out"] / "report.md").read_text())


def test_report_shows_the_seed_arithmetic_and_layer_kinds(small):
    md = (small["out"] / "report.md").read_text()
    assert "432 + 240 = 672" in md and "2,160" in md
    assert "2,408,448 + 10,035,200 = 12,443,648" in md and "120,422,400" in md
    layers = small["doc"]["layers"]
    assert set(layers) == {"lenet5", "mobilenetv2"}  # the models of this study (issue 32), no longer VGG-16 always
    assert layers["mobilenetv2"]["totals"]["pointwise (1x1)"] > layers["mobilenetv2"]["totals"]["depthwise"] > 0
    assert layers["lenet5"]["totals"]["depthwise"] == 0


def test_html_is_self_contained(small):
    page = (small["out"] / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # latency, size and energy vs MACs, per-layer MACs
    assert "http://" not in page and "https://" not in page.replace("https://keras.io", "")
    assert " est.</td>" in page


def test_second_run_measures_nothing(small):
    assert small["new_rows"] == 0
    assert small["doc2"]["counts"]["measured_now"] == 0
    assert small["doc2"]["counts"]["reused_from_db"] == 4
    # nothing slow ran again: no cold conversion (not a wall-clock bound, which measured the load as much)
    cold = [[x for x in run.err.splitlines() if x.startswith("converting ")]
            for run in (small["first"], small["second"])]
    assert cold[0] and not cold[1], cold
    first = {(r["model"], r["quant"], r["target"]): r["latency_ms"] for r in small["doc"]["rows"]}
    assert all(first[(r["model"], r["quant"], r["target"])] == r["latency_ms"] for r in small["doc2"]["rows"])


def test_accuracy_with_digits(home):
    root, env = home
    out = root / "acc"
    run = run_cli("study", "--models", "lenet5", "--quant", "fp32,int8", "--targets", "cpu,rpi4", "--data",
                  "digits", "--quick", "--out", str(out), "--db", str(root / "r.db"), env=env, cwd=root)
    assert run.code == 0, run.err[-3000:]
    doc = json.loads((out / "results.json").read_text())
    trained = [r for r in doc["rows"] if r["variant"] == "trained"]
    zoo = [r for r in doc["rows"] if r["variant"] == "zoo"]
    assert len(trained) == len(zoo) == 4
    assert all(r["accuracy_pct"] > 60 for r in trained), [r["accuracy_pct"] for r in trained]
    assert all(r["accuracy_pct"] is None for r in zoo)
    assert (out / "accuracy_vs_latency.png").is_file()
    assert doc["training"]["lenet5"]["input_shape"] == [32, 32, 1]


@pytest.mark.heavy
def test_full_quick_study(home):
    root, env = home
    env = {**env, "EDGEKIT_BENCH_DIR": str(root / "full-models"), "EDGEKIT_CACHE_DIR": str(root / "full-cache")}
    out, db = root / "full", root / "full.db"
    t0 = time.perf_counter()
    run = run_cli("study", "--quick", "--out", str(out), "--db", str(db), "--force", env=env, cwd=root,
                  timeout=1200)
    first_s = time.perf_counter() - t0
    assert run.code == 0, run.err[-3000:]
    doc = json.loads((out / "results.json").read_text())
    grid = {(r["model"], r["quant"], r["target"]) for r in doc["rows"]}
    for m in ("lenet5", "vgg16", "resnet50", "mobilenet", "mobilenetv2"):
        for q in ("fp32", "int8"):
            assert {(m, q, "cpu"), (m, q, "rpi4"), (m, q, "coral-usb")} <= grid
    assert first_s <= 600, first_s
    rows = _rows_in_db(db)
    t0 = time.perf_counter()
    again = run_cli("study", "--quick", "--out", str(out), "--db", str(db), "--force", env=env, cwd=root)
    assert again.code == 0 and _rows_in_db(db) == rows
    assert time.perf_counter() - t0 < 60
