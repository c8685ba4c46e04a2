"""Microcontroller targets on the tiny committed models: TFLite Micro's rules, its measured arena, the check and
bench commands, and the latency fit's held-out error (fast tier: no TensorFlow)."""

from __future__ import annotations

import math

import pytest

from targets.registry import get_target
from tests.conftest import DATA, assert_one_line_error, run_cli, run_cli_process

pytest.importorskip("tflite_micro", reason="the [mcu] extra (tflite-micro) is part of [all]; CI installs it")


def test_targets_have_board_figures_and_sources():
    from targets.registry import Reach, get_target

    for name in ("cortex-m4", "cortex-m7"):
        t = get_target(name)
        assert t.reach is Reach.MCU and t.mcu is not None and len(t.sources) >= 2
        assert 0 < t.mcu.arena_budget_bytes <= t.mcu.sram_bytes and t.mcu.flash_bytes == 2 << 20
    assert get_target("cortex-m7").mcu.arena_budget_bytes < get_target("cortex-m7").mcu.sram_bytes  # AXI SRAM only


def test_arena_is_the_smallest_that_allocates():
    from edgekit.runtime.tflm import run_tflm
    from targets.mcu import check_mcu

    report = check_mcu(DATA / "tiny_int8.tflite", get_target("cortex-m7"))
    a = report.arena
    assert report.fits and a.verified and a.head_bytes + a.tail_bytes == a.arena_bytes
    path = DATA / "tiny_int8.tflite"
    assert run_tflm(path, arena_size=a.arena_bytes).ok
    assert not run_tflm(path, arena_size=a.arena_bytes - 16).ok


def test_a_far_too_small_arena_crashes_the_child_not_us():
    from edgekit.runtime.tflm import run_tflm

    run = run_tflm(DATA / "tiny_int8.tflite", arena_size=64)
    assert not run.ok and run.error


def test_uint8_compute_is_not_supported_by_tflm():
    run = run_cli("check", str(DATA / "tiny_uint8_compute.tflite"), "--target", "cortex-m7", "--json")
    assert run.code == 1, run  # the check ran and answered no: the report, then exit 1
    doc = run.json()
    assert doc["fits"] is False and doc["quant"] == "uint8" and doc["arena_bytes"] is None
    assert doc["interpreter_overhead_bytes"] is None
    assert any("not supported by TFLite Micro" in r and "--int8" in r for r in doc["reasons"])
    assert "not supported on TFLite Micro" in doc["tflm_error"]  # the interpreter's own refusal agrees


def test_uint8_io_around_int8_compute_runs():
    from targets.mcu import check_mcu

    report = check_mcu(DATA / "tiny_uint8.tflite", get_target("cortex-m4"))
    assert report.fits and report.quant == "int8" and report.arena.verified
    assert any("QUANTIZE" in w for w in report.warnings)


def test_dynamic_shapes_are_refused():
    from targets.mcu import check_mcu

    report = check_mcu(DATA / "tiny_dynamic.tflite", get_target("cortex-m4"))
    assert not report.fits and report.arena is None and "dynamic shapes" in report.reasons[0]


def test_float_runs_but_honestly():
    from targets.mcu_bench import bench_mcu

    r = bench_mcu(DATA / "tiny_fp32.tflite", get_target("cortex-m7")).to_dict()
    assert r["quant"] == "fp32" and r["ram"]["measured"] and r["latency_ms"]["p50"] is None
    assert r["expected_error_pct"] is None and any("4x the bytes" in w for w in r["warnings"])
    assert any("no latency estimate for fp32" in w for w in r["warnings"])
    assert r["outputs_vs_local"]["max_abs_diff"] < 1e-5 and r["outputs_vs_local"]["max_diff_steps"] is None


def test_bench_int8_matches_litert_and_estimates_latency():
    from targets import mcu_latency
    from targets.mcu_bench import bench_mcu

    r = bench_mcu(DATA / "tiny_int8.tflite", get_target("cortex-m4")).to_dict()
    assert r["measured"] is False and r["backend"] == "tflite-micro" and r["sources"]
    assert r["outputs_vs_local"]["max_diff_steps"] <= 1 and r["outputs_vs_local"]["top1_agree"]
    cpm = math.exp(sum(math.log(x.cycles_per_mac) for x in mcu_latency.ROWS if x.core == "cortex-m4") / 4)
    assert r["latency_ms"]["p50"] == pytest.approx(r["macs"] * cpm / 120e3, rel=1e-3)
    assert r["expected_error_pct"] > 0 and r["ram"]["arena_bytes"] < r["ram"]["arena_budget_bytes"]


def test_latency_rows_are_held_out_one_at_a_time():
    from targets import mcu_latency

    m4 = [r for r in mcu_latency.ROWS if r.core == "cortex-m4"]
    # the MLPerf Tiny v0.5 reference figures: inferences per second on the L4R5ZI at 120 MHz
    assert sorted(round(1e3 / r.ms, 3) for r in m4) == [1.42, 1.665, 5.497, 99.487]
    held = {h["model"]: h for h in mcu_latency.held_out() if h["core"] == "cortex-m4"}
    assert len(held) == len(m4)
    vww = next(r for r in m4 if r.model.startswith("VWW"))
    others = [r.ms * 120e3 / r.macs for r in m4 if r is not vww]
    predicted = vww.macs * math.exp(sum(map(math.log, others)) / 3) / 120e3
    assert held[vww.model]["predicted_ms"] == pytest.approx(predicted)
    pct, basis = mcu_latency.expected_error_pct("cortex-m7")
    assert "borrowed" in basis and pct == round(max(abs(h["error_pct"]) for h in held.values()))


def test_check_human_output_and_usage_errors():
    run = run_cli("check", str(DATA / "tiny_int8.tflite"), "--target", "cortex-m7")
    assert run.code == 0 and "fits" in run.out and "measured in TFLite Micro" in run.out
    line = assert_one_line_error(run_cli("check", str(DATA / "tiny_int8.tflite"), "--target", "rpi4"), 2)
    assert "cortex-m4" in line


def test_missing_tflm_names_the_extra(monkeypatch):
    from importlib import metadata

    from edgekit.runtime import tflm

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    with pytest.raises(tflm.TflmMissingError, match=r"edgekit\[mcu\]"):
        tflm.tflm_version()


def _study_cells(path, target: str) -> list[str]:
    """A study row for ``path`` on ``target``, as edgekit study collects and renders it."""
    from edgekit.analysis import analyze_graph, read_tflite
    from edgekit.study.cells import Converted
    from edgekit.study.plan import Cell
    from edgekit.study.report_md import cells
    from edgekit.study.rows import decorate
    from targets.mcu_bench import bench_mcu

    graph = read_tflite(path)
    cost = analyze_graph(graph, path.stem)
    conv = Converted(path, cost.params, cost.input_shape, cost, graph, "digest")
    row = decorate(bench_mcu(path, get_target(target)), Cell(path.stem, "int8", target, "zoo"), conv, None)
    return cells(row, {})


def test_study_shows_the_estimate_only_for_models_that_fit():
    fits = _study_cells(DATA / "tiny_int8.tflite", "cortex-m7")
    # p50, then the 95% interval and p90 (none for an estimate), then the memory column: the arena
    assert fits[8].endswith(" est.") and fits[11].endswith(" arena") and fits[4].startswith("TFLite Micro")
    float_fits = _study_cells(DATA / "tiny_fp32.tflite", "cortex-m7")
    assert float_fits[8].startswith("fits (arena ")  # no latency estimate for float: the verdict instead
    refused = _study_cells(DATA / "tiny_uint8_compute.tflite", "cortex-m7")
    assert refused[8].startswith("does not run: uint8") and refused[10] == "-"


def test_without_tflm_the_commands_say_which_extra(tmp_path):
    """A Python that cannot see tflite-micro: ``check`` and ``bench`` answer with one line naming [mcu]."""
    hide = tmp_path / "sitecustomize.py"
    hide.write_text("import importlib.metadata as m\n_v = m.version\n"
                    "def version(name):\n"
                    "    if name == 'tflite-micro':\n        raise m.PackageNotFoundError(name)\n"
                    "    return _v(name)\nm.version = version\n")
    env = {"PYTHONPATH": f"{tmp_path}:{DATA.parents[1]}"}
    for command in ("check", "bench"):
        run = run_cli_process(command, str(DATA / "tiny_int8.tflite"), "--target", "cortex-m4", env=env)
        assert "edgekit[mcu]" in assert_one_line_error(run, 2)  # a missing extra: exit 2, as a usage error


def test_an_op_tflm_lacks_is_named(tmp_path):
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from targets.mcu import check_mcu

    model = schema.ModelT.InitFromPackedBuf(bytearray((DATA / "tiny_fp32.tflite").read_bytes()), 0)
    code = model.operatorCodes[-1]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "EdgekitNoSuchOp"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "custom.tflite"
    path.write_bytes(bytes(builder.Output()))
    report = check_mcu(path, get_target("cortex-m7"))
    assert not report.fits and report.arena is None and report.tflm_error
    assert "TFLite Micro refused it" in report.reasons[0] and "EdgekitNoSuchOp" in report.reasons[0]
