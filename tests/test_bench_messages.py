"""What a bench run ends with says what the user needs (issue 32): too few rounds is not "noisy", and no
message reads "None"."""

from __future__ import annotations

from edgekit.result import Result


def _result(**kw) -> Result:
    r = {"model": "tiny_fp32", "quant": "fp32", "threads": 1, "target": "cpu", "noisy": True, "rounds": 6,
         "latency_ms": {"p50": 0.0257, "ci95": [0.0200, 0.0300]}, "warnings": []}
    return Result.from_dict({**r, **kw})


def test_too_few_rounds_is_its_own_message():
    from edgekit.app.bench import noisy_warnings

    [line] = noisy_warnings([_result(rounds=2, latency_ms={"p50": 0.0257, "ci95": [0.0257, 0.0257]})])
    assert line.startswith("too few rounds for an interval") and "tiny_fp32 fp32 1 thread had 2" in line
    assert "noisy" not in line and "--rounds 6" in line
    [line] = noisy_warnings([_result()])
    assert line.startswith("noisy: the 95% interval stayed wider than ±5%") and "over 6 rounds" in line


def test_no_none_in_a_gpu_warning():
    from edgekit.app.bench import noisy_warnings

    [line] = noisy_warnings([_result(threads=None, target="gpu")])
    assert "None" not in line and "tiny_fp32 fp32 on the GPU" in line


def test_too_few_rounds_is_not_noisy_in_the_tables(capsys, monkeypatch):
    """The table's p50 cell and its footnote say "no interval" (the study: "2 rounds, no interval") for a result
    of 2 rounds, and keep NOISY for one whose interval stayed wide (issue 32): bench, results and the study."""
    import json

    from edgekit.cli.bench_report import p50_text, print_table
    from edgekit.study.report_md import cells
    from edgekit.study.study_row import StudyRow
    from tests.conftest import DATA

    monkeypatch.setenv("COLUMNS", "200")
    rows = json.loads((DATA / "bench_long_names.json").read_text())[:2]
    few = Result.from_dict({**rows[0], "rounds": 2, "noisy": True, "round_ms": rows[0]["round_ms"][:2]})
    wide = Result.from_dict({**rows[1], "rounds": 30, "noisy": True})
    assert p50_text(few).endswith(" no interval") and "NOISY" not in p50_text(few)  # the rounds column says 2
    assert p50_text(wide).endswith(" NOISY")
    print_table([few])
    out = capsys.readouterr().out
    assert " no interval │" in out and "no interval: fewer than 6 rounds give no 95% interval" in out
    assert "NOISY " not in out.split("p50: the median")[0]  # the table itself
    print_table([wide])
    assert "fewer than 6 rounds" not in capsys.readouterr().out
    study_row = {"model": "m", "input_shape": [1, 8, 8, 3], "quant": "fp32", "target": "cpu", "measured": True,
                 "params_m": 1.0, "mmacs": 1.0, "size_mb": 1.0, "rounds": 2, "noisy": True,
                 "latency_ms": {"p50": 7.0, "p90": 8.0, "ci95": [6.0, 8.0]}, "peak_rss_mb": 10, "gmacs_per_s": 1.0}
    assert cells(StudyRow.from_dict(study_row), {})[8] == "7.0 2 rounds, no interval"
