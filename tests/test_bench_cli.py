"""``edgekit bench`` and ``edgekit results`` on the tiny committed models: keys, store, bad input, concurrency."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from bench.stats import summarize
from edgekit.result import Result
from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli

TINY = str(DATA / "tiny_int8.tflite")
ROW = Result.from_dict({"time_utc": "t", "target": "cpu", "model": "m"})  # a row for the store tests
FAST = ("--runs", "5", "--min-seconds", "0", "--warmup", "1", "--rounds", "2", "--budget", "1")
KEYS = {"target", "model", "quant", "threads", "measured", "latency_ms", "init_ms", "first_ms", "peak_rss_mb",
        "size_bytes", "macs", "gmacs_per_s", "backend", "device", "cv", "throughput_ips", "rss_increase_mb",
        "xnnpack", "edgekit", "commit", "time_utc", "backend_version", "rounds", "noisy", "batch", "round_ms",
        "machine", "pinned_cores"}


def test_stats_are_robust():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.min, s.p50, s.max, s.runs) == (1.0, 3.0, 100.0, 5)
    assert s.p99 > s.p90 > s.p50 and s.cv > 1
    assert summarize([2.0]).std == 0.0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "r.db"
    csv = db.with_name("r.csv")
    first = run_cli("bench", TINY, str(DATA / "tiny_fp32.tflite"), "--threads", "1,2", *FAST, "--json",
                    "--db", str(db), "--csv", str(csv))
    second = run_cli("bench", TINY, "--threads", "1", "--no-xnnpack", "--profile-ops", *FAST, "--json",
                     "--db", str(db))
    return db, csv, first, second


def test_json_has_the_documented_keys(two_runs):
    _, csv, first, _ = two_runs
    assert first.code == 0, first.err
    docs = first.json()
    assert [(d["model"], d["threads"]) for d in docs] == [("tiny_int8", 1), ("tiny_int8", 2), ("tiny_fp32", 1),
                                                         ("tiny_fp32", 2)]
    for d in docs:
        assert KEYS <= d.keys()
        assert set(d["latency_ms"]) >= {"min", "mean", "std", "p50", "p90", "p99"}
        assert d["measured"] is True and d["target"] == "cpu" and d["backend"] == "ai_edge_litert"
        assert d["macs"] > 0 and d["gmacs_per_s"] > 0 and d["size_bytes"] > 1000
        assert d["device"]["cores"] >= 1 and d["device"]["cpu"]
        assert d["latency_ms"]["min"] <= d["latency_ms"]["p50"] <= d["latency_ms"]["p99"]
        lo, hi = d["latency_ms"]["ci95"]
        assert lo <= d["latency_ms"]["p50"] <= hi and d["rounds"] == len(d["round_ms"]) >= 2
        assert d["noisy"] is True  # fewer than 6 rounds: no 95% interval, so never trusted
        assert d["pinned_cores"] is None or len(d["pinned_cores"]) == d["threads"]
        assert {"load_average", "cpu_mhz", "governor"} <= d["machine"]["before"].keys()
        assert d["batch"] > 1  # the tiny model's call is far under 100 us
    assert [d["quant"] for d in docs] == ["int8", "int8", "fp32", "fp32"]
    lines = csv.read_text().splitlines()
    assert len(lines) == 5 and {"rounds", "noisy", "batch", "ci95_lo_ms", "ci95_hi_ms"} <= set(lines[0].split(","))


def test_profile_ops_gives_times_beside_macs(two_runs):
    _, _, _, second = two_runs
    assert second.code == 0, second.err
    (doc,) = second.json()
    assert doc["xnnpack"] is False and doc["delegate_nodes"] == 0
    ops = doc["ops"]
    assert [o["op"] for o in ops] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
    assert all(o["ms"] > 0 for o in ops) and ops[0]["macs"] > 0


def test_profile_ops_says_when_xnnpack_fuses(tmp_path):
    run = run_cli("bench", TINY, "--profile-ops", *FAST, "--db", str(tmp_path / "r.db"))
    assert run.code == 0, run.err
    assert "XNNPACK fused" in run.out and "--no-xnnpack" in run.out


def test_results_list_and_compare(two_runs):
    db, _, first, second = two_runs
    listed = run_cli("results", "--db", str(db), "--json")
    assert listed.code == 0, listed.err
    rows = listed.json()
    assert len(rows) == 5 and rows[-1]["xnnpack"] is False
    only = run_cli("results", "--db", str(db), "--model", "tiny_fp32", "--last", "1", "--json").json()
    assert [r["model"] for r in only] == ["tiny_fp32"]
    a, b = first.json()[0], second.json()[0]
    cmp = run_cli("results", "compare", str(a["id"]), str(b["id"]), "--db", str(db), "--json")
    assert cmp.code == 0, cmp.err
    (row,) = cmp.json()
    assert row["ratio"] == pytest.approx(b["latency_ms"]["p50"] / a["latency_ms"]["p50"], rel=1e-3)
    runs = run_cli("results", "compare", a["run_id"], a["run_id"][:6], "--db", str(db), "--json").json()
    assert len(runs) == 4 and all(r["ratio"] == 1.0 for r in runs)
    assert row["ratio_ci95"][0] <= row["ratio"] <= row["ratio_ci95"][1] and row["method"] == "bootstrap over rounds"
    table = run_cli("results", "compare", str(a["id"]), str(b["id"]), "--db", str(db))
    assert table.code == 0 and "B / A" in table.out and "95% interval" in table.out
    assert ("faster than A" in table.out or "slower than A" in table.out or "no measurable difference" in table.out)
    other = first.json()[2]  # tiny_fp32: another model
    line = assert_one_line_error(run_cli("results", "compare", str(a["id"]), str(other["id"]), "--db", str(db)), 2)
    assert "tiny_int8" in line and "tiny_fp32" in line and "one model" in line
    disjoint = run_cli("results", "compare", a["run_id"], b["run_id"], "--db", str(db))
    assert "share no configuration" in assert_one_line_error(disjoint, 2)


@pytest.mark.parametrize(("args", "code", "expect"), [
    (["--target", "tpu"], 2, "choose from: cpu, gpu"),
    (["--threads", "0"], 2, "--threads must be whole numbers >= 1"),
    (["--threads", "1,x"], 2, "--threads must be a comma-separated list"),
    (["--quant", "int8"], 2, "--quant applies to zoo models"),
])
def test_bad_options_are_one_line(tmp_path, args, code, expect):
    line = assert_one_line_error(run_cli("bench", TINY, *args, *FAST, "--db", str(tmp_path / "r.db")), code)
    assert expect in line


@pytest.mark.parametrize(("args", "expect"), [
    (["--rounds", "0"], "--rounds must be 1 or more, got 0"),
    (["--rounds", "-2"], "--rounds must be 1 or more, got -2"),
    (["--budget", "0"], "--budget must be a positive number of seconds, got 0"),
    (["--budget", "0.2", "--min-seconds", "0.5"], "--budget 0.2 s is shorter than one round"),
])
def test_bad_rounds_or_budget_are_one_line(tmp_path, args, expect):
    run = run_cli("bench", TINY, *args, "--db", str(tmp_path / "r.db"))
    assert expect in assert_one_line_error(run, 2)
    assert not (tmp_path / "r.db").exists() or "results" not in run.out


def test_unwritable_db_fails_before_measuring(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = assert_one_line_error(run_cli("bench", TINY, *FAST, "--db", str(blocker / "r.db")), 2)
    assert "cannot write the results database" in line and "--db" in line


@pytest.mark.parametrize("cut", [0, 10, 2000])
def test_corrupt_or_truncated_model_is_one_line(tmp_path, cut):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes((DATA / "tiny_int8.tflite").read_bytes()[:cut])
    run = run_cli("bench", str(bad), *FAST, "--db", str(tmp_path / "r.db"))
    assert run.code > 0
    assert "bad.tflite" in assert_one_line_error(run, 1)


def test_model_whose_input_cannot_be_fed(tmp_path):
    line = assert_one_line_error(run_cli("bench", str(DATA / "tiny_dynamic.tflite"), *FAST,
                                         "--db", str(tmp_path / "r.db")), 2)
    assert "dynamic shape" in line and "fixed input size" in line


def test_unknown_model_suggests(tmp_path):
    line = assert_one_line_error(run_cli("bench", "mobilenetv3", *FAST, "--db", str(tmp_path / "r.db")), 2)
    assert "did you mean" in line


def test_four_concurrent_benches_lose_no_rows(tmp_path, cpu_load):
    """Four ``edgekit bench`` runs start at once on a new database, beside a busy loop on every core."""
    db = tmp_path / "shared.db"
    cmd = [sys.executable, "-m", "edgekit", "bench", TINY, str(DATA / "tiny_fp32.tflite"), "--threads", "1,2",
           "--runs", "3", "--min-seconds", "0", "--warmup", "0", "--rounds", "1", "--budget", "1", "--json",
           "--db", str(db)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-500:] for o in outs]
    ids = sorted(d["id"] for out, _ in outs for d in json.loads(out))
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 16
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ids == list(range(1, 17))


def test_four_writers_open_new_databases_together_twenty_times(tmp_path, background_load):
    """20 rounds under load: four writer processes, released by one line each, open the same ten new databases
    at once (the race to switch a new file to WAL) and append 3 rows to each; every database ends with all 12 rows,
    3 per writer. Before the fix one of the 800 opens failed with "database is locked" in 2 of 5 runs here (the
    next test catches that cause every time)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = [(tmp_path / f"writer{i}.err").open("w") for i in range(4)]
    writers = [subprocess.Popen([sys.executable, "-m", "tests._store_writer", f"w{i}", "3"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=logs[i], text=True, env=env, cwd=ROOT)
               for i in range(4)]

    def answers(expected: str) -> None:  # a writer that failed ends its output: show its stderr
        got = [w.stdout.readline() for w in writers]
        assert got == [expected + "\n"] * 4, [(tmp_path / f"writer{i}.err").read_text()[-800:] for i in range(4)]

    try:
        answers("ready")
        for round_ in range(20):
            dbs = [tmp_path / f"r{round_}_{k}.db" for k in range(10)]
            for w in writers:
                w.stdin.write(" ".join(map(str, dbs)) + "\n")
                w.stdin.flush()
            answers("done")
            for db in dbs:
                with sqlite3.connect(db) as con:
                    rows = con.execute("SELECT id, run_id FROM results ORDER BY id").fetchall()
                    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert [r[0] for r in rows] == list(range(1, 13)), (round_, db.name)
                assert sorted(r[1] for r in rows) == sorted(f"w{i}" for i in range(4) for _ in range(3))
    finally:
        for w in writers:
            w.stdin.close()
            w.wait(timeout=120)
        for log in logs:
            log.close()
    assert [w.returncode for w in writers] == [0] * 4


def _hold_write_lock(db):
    """A process that holds ``db``'s write lock (BEGIN IMMEDIATE) until its stdin closes; returned once it does."""
    proc = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], "
                             "isolation_level=None); db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); "
                             "sys.stdin.read()", str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"
    return proc


def _release(proc) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def test_opening_a_new_database_waits_for_a_writer_instead_of_failing(tmp_path):
    """The root of the CI failure, made deterministic: another process writes to a new database (not yet WAL) as
    the store opens it. Switching to WAL upgrades a read to a write, where SQLite skips its busy timeout and fails
    at once; the store retries it, so it waits out its timeout and then names the holder."""
    from bench import store

    db = tmp_path / "new.db"
    holder = _hold_write_lock(db)
    try:
        with pytest.raises(store.StoreBusy, match=f"process {holder.pid} .* holds its write lock"):
            store.ResultStore(db, timeout=0.3)
    finally:
        _release(holder)
    s = store.ResultStore(db, timeout=0.3)
    assert s.add("r", ROW) == 1 and s.count() == 1
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_lock_held_past_the_timeout_is_exit_1_naming_the_holder(tmp_path, monkeypatch, capsys):
    """A write lock that another process holds longer than the timeout: one line, exit 1, naming that process
    and its lock rather than blaming the path; the same store writes once the lock is released."""
    from bench import store
    from edgekit.cli import main

    db = tmp_path / "r.db"
    store.ResultStore(db).close()
    holder = _hold_write_lock(db)
    try:
        monkeypatch.setattr(store, "TIMEOUT_S", 0.3)
        code = main(["bench", TINY, *FAST, "--threads", "1", "--db", str(db)])
        err = capsys.readouterr().err
        lines = [x for x in err.splitlines() if x.startswith("edgekit: error:")]
        assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
        assert f"stayed locked for 0.3 s: process {holder.pid} (" in lines[0] and "holds its write lock" in lines[0]
        assert "writable" not in lines[0]
        s = store.ResultStore(db, timeout=0.3)
        with pytest.raises(store.StoreBusy, match=f"process {holder.pid} "):
            s.add("r", ROW)
    finally:
        _release(holder)
    assert s.add("r", ROW) == 1  # the failed run left no row
