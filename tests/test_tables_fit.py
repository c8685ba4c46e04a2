"""Every table fits the terminal (issue 32): at 80 and 120 columns the column that names a row is printed whole,
never cut or ellipsised; the columns left out are named under the table; --wide prints them all.

``tests/data/bench_long_names.json``: four results `edgekit bench` stored for two copies of the tiny models with
long names (two runs, so `results compare` has pairs); only the ``path`` was rewritten, to leave /tmp out.
"""

from __future__ import annotations

import json
import shutil

import pytest
from rich.cells import cell_len

from tests.conftest import DATA, run_cli

LONG = ("efficientnetb0_random_weights_fp32", "inceptionv3_finetuned_flowers_int8")
WIDTHS = (80, 120)


def _rows() -> list[dict]:
    return json.loads((DATA / "bench_long_names.json").read_text())


def _fits(out: str, width: int, names) -> None:
    assert "…" not in out
    for line in out.splitlines():
        if line.startswith(("┃", "│", "┏", "┡", "└")):
            assert cell_len(line) <= width, line
    for name in names:
        assert any(f" {name} " in line for line in out.splitlines() if line.startswith("│")), name


@pytest.fixture(params=WIDTHS)
def width(request, monkeypatch) -> int:
    monkeypatch.setenv("COLUMNS", str(request.param))
    return request.param


def test_the_helper_drops_the_least_important_columns_first_and_says_so(width, capsys):
    from edgekit.cli._common import console
    from edgekit.cli._table import FitTable, col

    table = FitTable("t", [col("name", names=True), col("keep me", 9), *(col(f"extra {i}", i) for i in range(8))])
    table.add_row("a_very_long_model_name_that_stays_whole", "yes", *(["x" * 10] * 8))
    left_out = table.print(console())
    out = capsys.readouterr().out
    _fits(out, width, ["a_very_long_model_name_that_stays_whole"])
    assert "keep me" in out and left_out and "extra 0" in left_out
    assert f"left out to fit {width} columns: " in out and "--wide or --json" in out
    assert table.print(console(), wide=True) == []
    assert "extra 0" in capsys.readouterr().out


def test_a_folding_column_with_a_long_path_folds_and_is_never_dropped(width, capsys):
    """convert's summary (figure | value) once dropped its value column when the output path, one long word, was
    wider than the terminal: the value column folds the path instead."""
    from edgekit.cli._common import console
    from edgekit.cli._table import FitTable, col

    path = "/tmp/" + "a" * 90 + "/model_int8.tflite"
    table = FitTable("t", [col("figure", names=True), col("value", fold=True)], show_header=False)
    table.add_row("file", path)
    table.add_row("input", "int8 1x224x224x3")
    assert table.print(console()) == []
    out = capsys.readouterr().out
    _fits(out, width, ["file", "input"])
    assert "int8 1x224x224x3" in out and "model_int8.tflite" in out.replace("│", "").replace(" ", "").replace("\n", "")


def test_models_and_targets(width):
    models = run_cli("models")
    assert models.code == 0
    _fits(models.out, width, ["mobilenet", "mobilenetv2", "inceptionv3", "googlenet"])
    targets = run_cli("targets")
    assert targets.code == 0
    _fits(targets.out, width, ["coral-usb", "coral-devboard", "cortex-m4", "cortex-m7", "pixel4"])
    wide = run_cli("targets", "--wide")
    assert "DRAM GB/s" in wide.out and "left out" not in wide.out


def test_bench_results_compare_and_fleet(width, capsys):
    from edgekit.cli.bench_remote import _aggregate_table
    from edgekit.cli.bench_report import compare_rows, print_compare, print_history, print_table
    from edgekit.result import Result

    docs = _rows()
    rows = [Result.from_dict(d) for d in docs]
    print_table(rows[:2])
    _fits(capsys.readouterr().out, width, LONG)
    print_history(rows)
    out = capsys.readouterr().out
    _fits(out, width, [*LONG, docs[0]["run_id"], docs[2]["run_id"]])
    runs = sorted({d["run_id"] for d in docs})
    a, b = ([r for r in rows if r.extra["run_id"] == run] for run in runs)
    print_compare(compare_rows(a, b), runs[0], runs[1])
    _fits(capsys.readouterr().out, width, LONG)
    _aggregate_table([{"model": m, "quant": "int8", "threads": 4, "devices": 3, "median_p50_ms": 1.0,
                       "min_p50_ms": 0.9, "max_p50_ms": 1.2, "spread": 0.3} for m in LONG], False)
    _fits(capsys.readouterr().out, width, LONG)


def test_estimate_mcu_check_and_info_tables(width, tmp_path):
    files = []
    for name, src in zip(LONG, ("tiny_fp32.tflite", "tiny_int8.tflite"), strict=True):
        shutil.copy(DATA / src, tmp_path / f"{name}.tflite")
        files.append(str(tmp_path / f"{name}.tflite"))
    est = run_cli("bench", *files, "--target", "rpi4", "--db", str(tmp_path / "r.db"))
    assert est.code == 0, est.err
    _fits(est.out, width, LONG)
    mcu = run_cli("bench", files[1], "--target", "cortex-m4", "--db", str(tmp_path / "r.db"))
    assert mcu.code == 0, mcu.err
    _fits(mcu.out, width, LONG[1:])
    check = run_cli("check", files[1])
    _fits(check.out, width, ["DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
    info = run_cli("info", files[1], "--layers")
    assert info.code == 0, info.err
    _fits(info.out, width, ["peak activations (est.)"])


def test_convert_tables(width, capsys):
    from pathlib import Path
    from types import SimpleNamespace

    from edgekit.cli.convert import _print

    tensor = {"dtype": "int8", "shape": [1, 224, 224, 3]}
    meta = {"model": LONG[0], "inputs": [tensor], "outputs": [tensor],
            "quantization": {"weights": "int8", "activations": "int8"}, "calibration": {}}
    fid = SimpleNamespace(samples=8, source="random", top1_agreement=0.5, cosine=0.99, sqnr_db=20.0,
                          max_abs_error=0.01, flat=None)
    result = SimpleNamespace(metadata=meta, path=Path(f"{LONG[0]}_int8.tflite"), quant="int8", size_bytes=1000,
                             float_bytes=4000, seconds=1.0, cached=False, conversion_seconds=0.5, peak_rss_mb=100,
                             fidelity=fid, edgetpu=None,
                             per_layer=[{"layer": "block_16_project_BN_quantized_and_long", "op": "CONV_2D",
                                         "rmse_over_scale": 0.5, "max_abs_error": 0.1}])
    _print(result)
    _fits(capsys.readouterr().out, width, ["weights / activations", "block_16_project_BN_quantized_and_long"])
