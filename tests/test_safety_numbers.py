"""Every numeric option of every command: NaN, infinities, negatives, zero where it means nothing and integers past
what their consumer takes are one line naming the option (exit 2) before any work; --threads past the cores is a
warning that the result records (issue 29)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "tiny_fp32.tflite")
HUGE = str(10**30)
HOST = "pi@example.invalid"  # never reached: the numbers are refused first

# (command, option) -> (the command line before the option, the bad values). {tmp} is the test's folder.
BASE = {
    "bench": ["bench", TINY, "--db", "{tmp}/r.db"],
    "bench-ssh": ["bench", TINY, "--db", "{tmp}/r.db", "--target", "rpi4", "--host", HOST],
    "study": ["study", "--out", "{tmp}/out", "--db", "{tmp}/r.db", "--models", "lenet5", "--targets", "cpu", "--quick"],
    "convert": ["convert", "lenet5", "-o", "{tmp}/out.tflite"],
    "train": ["train", "lenet5", "--data", "digits", "-o", "{tmp}/out.keras"],
    "info": ["info", "lenet5"],
    "results": ["results", "--db", "{tmp}/r.db"],
    "targets check": ["targets", "check", "rpi4", "--host", HOST],
}
BAD = {
    ("bench", "--rounds"): ("0", "-1", "1001", HUGE, "nan"),
    ("bench", "--budget"): ("nan", "inf", "-inf", "0", "-1"),
    ("bench", "--runs"): ("0", "-1", str(2**31), HUGE, "nan"),
    ("bench", "--min-seconds"): ("nan", "inf", "-1", "151", "1e30"),
    ("bench", "--warmup"): ("-1", str(2**31), HUGE, "nan"),
    ("bench", "--threads"): ("0", "-1", "1025", HUGE, "nan", "1,0"),
    ("bench-ssh", "--timeout"): ("nan", "inf", "0", "-1", "1e30"),
    ("bench-ssh", "--port"): ("0", "-1", "65536", HUGE),
    ("study", "--threads"): ("0", "-1", "1025", HUGE, "nan"),
    ("convert", "--samples"): ("0", "-1", "10001", HUGE, "nan"),
    ("convert", "--input-size"): ("0", "-1", "8193", HUGE),
    ("convert", "--alpha"): ("nan", "inf", "0", "-1"),
    ("convert", "--classes"): ("0", "-1", str(2**31), HUGE),
    ("train", "--val-split"): ("nan", "inf", "0", "1", "-1"),
    ("train", "--seed"): ("-1", str(2**32), HUGE),
    ("train", "--epochs"): ("0", "-1", str(2**31), HUGE),
    ("train", "--batch-size"): ("0", "-1", str(2**31), HUGE),
    ("train", "--lr"): ("nan", "inf", "0", "-1"),
    ("train", "--input-size"): ("0", "-1", "8193", HUGE),
    ("train", "--alpha"): ("nan", "inf", "0", "-1"),
    ("info", "--input-size"): ("0", "-1", "8193", HUGE),
    ("info", "--alpha"): ("nan", "inf", "0", "-1"),
    ("info", "--classes"): ("0", "-1", str(2**31), HUGE),
    ("info", "--depth-multiplier"): ("0", "-1", HUGE),
    ("results", "--last"): ("0", "-1", str(2**63), HUGE),
    ("targets check", "--port"): ("0", "-1", "65536", HUGE),
}
CASES = [(cmd, option, value) for (cmd, option), values in BAD.items() for value in values]


@pytest.mark.parametrize(("cmd", "option", "value"), CASES, ids=[f"{c}{o}={v[:8]}" for c, o, v in CASES])
def test_bad_number_is_one_line_before_any_work(tmp_path, cmd, option, value):
    args = [a.format(tmp=tmp_path) for a in BASE[cmd]]
    run = run_cli(*args, option, value)
    line = assert_one_line_error(run, 2)
    assert option in line, line
    # edgekit's own checks say what they got; typer's (a word where a whole number goes, --last) name the option
    assert "got " in line or "Invalid value for" in line, line
    assert run.out == "", run.out  # nothing printed: no table, no JSON
    assert list(tmp_path.iterdir()) == [], "nothing measured, converted, trained or stored"


def _numeric_options() -> set[tuple[str, str]]:
    """Every int and float option of every command, as its --help shows them (``--rounds <int>``)."""
    import typer.main

    from edgekit.cli import app

    def commands(group, path):
        for name, sub in sorted(getattr(group, "commands", {}).items()):
            yield [*path, name]
            yield from commands(sub, [*path, name])

    found = set()
    for path in commands(typer.main.get_command(app), []):
        text = run_cli(*path, "--help").out
        found |= {(" ".join(path), m[1]) for m in re.finditer(r"(--[a-z0-9-]+) <(int|float)( range)?>", text)}
    return found


def test_the_table_covers_every_numeric_option():
    covered = {(cmd.removesuffix("-ssh"), option) for cmd, option in BAD}
    covered.discard(("bench", "--threads"))  # a comma-separated list of whole numbers, typed as text
    assert _numeric_options() == covered


def test_min_seconds_nan_is_refused_at_once(tmp_path):
    """The issue's case: --min-seconds nan was accepted and ran each round to the loop's 150 s cap."""
    run = run_cli("bench", TINY, "--min-seconds", "nan", "--budget", "1", "--db", str(tmp_path / "r.db"))
    line = assert_one_line_error(run, 2)
    assert "--min-seconds must be a number of seconds from 0 to 150, got nan" in line
    assert not (tmp_path / "r.db").exists()


def test_library_callers_get_the_same_checks():
    from bench.protocol import Protocol
    from edgekit.app.bench_request import LoopArgs, RemoteArgs, parse_threads
    from edgekit.errors import UsageError

    for bad in ({"min_seconds": math.nan}, {"min_seconds": math.inf}, {"budget": math.nan}, {"budget": -math.inf},
                {"runs": 0}, {"runs": 2.5}, {"warmup": -1}, {"rounds": 10**30}, {"runs": True}):
        with pytest.raises(UsageError):
            LoopArgs(**bad)
    for bad in ({"timeout": math.nan}, {"timeout": math.inf}, {"port": 0}, {"port": 65536}):
        with pytest.raises(UsageError):
            RemoteArgs(**bad)
    for bad in ({"budget_s": math.nan}, {"min_rounds": 0}, {"min_rounds": 1001}, {"rel_halfwidth": math.nan}):
        with pytest.raises(UsageError):
            Protocol(**bad)
    with pytest.raises(UsageError, match="finite"):
        Protocol().check_budget(math.nan)
    with pytest.raises(UsageError, match="--threads must be whole numbers >= 1 and <= 1024"):
        parse_threads("1,2000", "cpu")
    assert parse_threads("1,2,1024", "cpu") == [1, 2, 1024]
    assert LoopArgs(min_seconds=0, warmup=0, runs=1, rounds=1, budget=1e9).runs == 1


def test_limits_messages_name_option_value_and_range():
    from edgekit.errors import UsageError
    from edgekit.limits import finite, whole

    assert whole("--n", None) is None and whole("--n", 3) == 3
    assert finite("--x", None) is None and finite("--x", 0, low=0) == 0.0
    with pytest.raises(UsageError, match=r"^--n must be a whole number from 1 to 2147483647, got 0$"):
        whole("--n", 0)
    with pytest.raises(UsageError, match=r"^--x must be a number > 0 and finite, got nan$"):
        finite("--x", math.nan, low=0, low_open=True)
    with pytest.raises(UsageError, match=r"^--t must be a number of seconds > 0 and <= 2000000, got inf \(poll\)$"):
        finite("--t", math.inf, low=0, low_open=True, high=2e6, what="a number of seconds", why="poll")
    with pytest.raises(UsageError, match="got True"):
        whole("--n", True)


def test_threads_over_cores_warns_and_is_recorded(tmp_path):
    """--threads above this machine's usable cores is measured as asked, with one warning line, and each result
    (printed, --json and stored) says so."""
    from bench.machine import usable_cores
    from bench.store import ResultStore

    cores = usable_cores()
    threads = cores + 1
    db = tmp_path / "r.db"
    run = run_cli("bench", TINY, "--threads", str(threads), "--rounds", "1", "--runs", "3", "--min-seconds", "0",
                  "--warmup", "0", "--budget", "1", "--db", str(db), "--json")
    assert run.code == 0, run.err
    warned = [line for line in run.err.splitlines() if line.startswith("edgekit: warning: more threads than cores")]
    assert len(warned) == 1, run.err
    assert f"{threads} threads on the {cores} core(s)" in warned[0] and f"--threads {cores} or fewer" in warned[0]
    doc = json.loads(run.out)[0]
    assert doc["threads"] == threads
    assert sum(w.startswith("more threads than cores") for w in doc["warnings"]) == 1
    stored = ResultStore(db).last(1)[0].to_dict()
    assert stored["threads"] == threads and stored["warnings"] == doc["warnings"]


def test_threads_within_the_cores_record_no_warning():
    from bench.result import threads_warning

    assert threads_warning(2, 2) is None and threads_warning(None, 2) is None and threads_warning(4, None) is None
    assert threads_warning(999, 2).startswith("more threads than cores: 999 threads on the 2 core(s)")


def test_study_warns_of_threads_over_cores_only_when_it_measures_here(tmp_path):
    from bench.machine import usable_cores
    from edgekit.study.plan import make_plan

    def plan(threads, targets):
        return make_plan(models="lenet5", quants="fp32", targets=targets, hosts=None, data=None, threads=threads,
                         quick=True, out=tmp_path / "out", force=False, db=tmp_path / "r.db")

    over = usable_cores() + 1
    assert [w.split(":")[0] for w in plan(over, "cpu,rpi4").warnings()] == ["more threads than cores"]
    assert plan(over, "rpi4").warnings() == []  # estimated: the device's cores, not this machine's
    assert plan(1, "cpu").warnings() == []
