"""The results database never costs a measurement or a user's file (issue 29).

A: what was measured is shown, written (--json, --csv) and kept in a recovery file when the database fails after
measuring (a full disk, corrupt pages, a path that is not UTF-8), for bench and for the study.
B: --csv follows the -o rules: checked before measuring, no overwrite without --force, atomic, no special files.
C: the read-only commands (results, compare) open the file with SQLite's mode=ro: they never create it, add
tables or switch it to WAL; a writer refuses another program's database before touching it.
D: huge ids and --last values, and corrupt databases, are one line each.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from bench.store import ResultStore
from edgekit.result import Result
from tests.conftest import DATA, assert_one_line_error, run_cli

TINY = str(DATA / "tiny_fp32.tflite")
FAST = ("--runs", "3", "--min-seconds", "0", "--warmup", "1", "--rounds", "2", "--budget", "1")
DOC = {"time_utc": "2026-01-01T00:00:00+00:00", "target": "cpu", "model": "m", "quant": "fp32", "threads": 1,
       "latency_ms": {"p50": 1.0}}


@contextmanager
def _tmpfs(where: Path, size: str = "256k", *, readonly_after=None):
    """A small tmpfs at ``where`` for the test (root only); skips, saying why, where it cannot be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a disk that fills) needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until ``leave`` bytes are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    (folder / "filler").write_bytes(b"\0" * max(0, free - leave))
    assert os.statvfs(folder).f_bavail * st.f_frsize <= leave


def _db(path: Path, rows: int = 3) -> Path:
    store = ResultStore(path)
    for i in range(rows):
        store.add(f"run{i}aaaaaaaa", Result.from_dict({**DOC, "model": f"m{i}", "pad": "x" * 300}))
    store.close()
    return path


def _corrupt_pages(path: Path) -> Path:
    """A database with rows whose page 2 on is overwritten: the 100-byte header and the schema page stay valid."""
    store = ResultStore(path)
    for i in range(60):
        store.add(f"run{i // 20}bbbbbbbb", Result.from_dict({**DOC, "model": f"m{i}", "pad": "x" * 500}))
    store.close()
    assert path.stat().st_size > 3 * 4096
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 4096)
    return path


def _unsaved(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.unsaved-*.json"))


# A: measurements are kept whatever happens to the store


def test_a_full_disk_after_measuring_still_gives_table_json_csv_and_a_recovery_file(tmp_path):
    """The reproduction: about 40 KB left on the disk of --db. The database opens (its tables exist), the result
    cannot be added; --json and --csv (on a healthy disk) have it, and so does a recovery file in the current folder
    (the database's folder is full), named in the one error line (exit 1)."""
    with _tmpfs(tmp_path / "full") as full:
        db = _db(full / "results.db", rows=0)
        _fill(full, 40 * 1024)
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        run = run_cli("bench", TINY, *FAST, "--json", "--db", str(db), "--csv", str(tmp_path / "ok.csv"), cwd=cwd)
        line = assert_one_line_error(run, 1)
        assert "database or disk is full" in line and "1 result(s) could not be stored" in line, line
        [kept] = _unsaved(cwd)
        assert str(kept) in line and not _unsaved(full)
        [doc] = run.json()
        assert doc["model"] == "tiny_fp32" and doc["latency_ms"]["p50"] > 0 and doc["id"] is None
        [recovered] = json.loads(kept.read_text())
        assert recovered["latency_ms"] == doc["latency_ms"] and recovered["run_id"] == doc["run_id"]
        assert len((tmp_path / "ok.csv").read_text().splitlines()) == 2
        assert "saved " not in run.err  # no "saved N result(s)" line
        assert ResultStore(db, readonly=True).count() == 0


def test_a_database_that_fails_mid_run_keeps_the_rest_beside_it(tmp_path, monkeypatch):
    """The first result is stored, the second add fails: the table has both, "saved 1 of 2", and the second is in
    a recovery file beside the database."""
    real = ResultStore.add
    calls = []

    def add(self, run_id, result):
        calls.append(result.model)
        if len(calls) > 1:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, run_id, result)

    monkeypatch.setattr(ResultStore, "add", add)
    db = tmp_path / "db" / "r.db"
    run = run_cli("bench", TINY, str(DATA / "tiny_int8.tflite"), *FAST, "--json", "--db", str(db), cwd=tmp_path)
    line = assert_one_line_error(run, 1)
    [kept] = _unsaved(db.parent)
    assert f"1 result(s) could not be stored in the results database {str(db)!r} (database or disk is full); " \
           f"they are kept in {str(kept)!r}" in line
    assert [(d["model"], d["id"]) for d in run.json()] == [("tiny_fp32", 1), ("tiny_int8", None)]
    assert "saved 1 of 2 result(s)" in run.err
    assert [d["model"] for d in json.loads(kept.read_text())] == ["tiny_int8"]
    monkeypatch.undo()
    assert [r.model for r in ResultStore(db, readonly=True).last(10)] == ["tiny_fp32"]


def test_a_database_with_corrupt_pages_measures_and_keeps_the_result(tmp_path):
    db = _corrupt_pages(tmp_path / "r.db")
    before = db.read_bytes()
    run = run_cli("bench", TINY, *FAST, "--json", "--db", str(db), cwd=tmp_path)
    line = assert_one_line_error(run, 1)
    assert "could not be stored" in line and "corrupt" in line and "malformed" in line, line
    assert run.json()[0]["latency_ms"]["p50"] > 0
    assert len(json.loads(_unsaved(tmp_path)[0].read_text())) == 1
    assert db.read_bytes() == before


def test_a_path_that_is_not_utf8_is_stored_as_the_filesystem_gives_it(tmp_path):
    """No UnicodeEncodeError: the model (which LiteRT cannot open by that name) gets its failure row, stored; the
    document keeps the exact path, the CSV its bytes, and ``results --model`` finds it."""
    model = os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff.tflite")
    shutil.copy(TINY, model)
    db, csv = tmp_path / "r.db", tmp_path / "r.csv"
    run = run_cli("bench", model, *FAST, "--json", "--db", str(db), "--csv", str(csv), cwd=tmp_path)
    assert "Traceback" not in run.err and run.code in (0, 1), run.err
    [doc] = run.json()
    assert doc["model"] == "bad\udcff" and doc["id"] == 1
    [stored] = [r.to_dict() for r in ResultStore(db, readonly=True).last(5, "bad\udcff")]
    assert stored["model"] == "bad\udcff" and stored["path"] == model
    assert b"bad\xff" in csv.read_bytes()
    assert not _unsaved(tmp_path)


def test_the_study_writes_its_report_when_the_database_fails(tmp_path, monkeypatch):
    from edgekit.analysis import analyze_graph, read_tflite
    from edgekit.cli.study import study
    from edgekit.errors import EdgekitError
    from edgekit.study import collect, facts, plan

    files = {"lenet5": "tiny_fp32.tflite", "mobilenetv2": "tiny_int8.tflite"}

    def convert(_plan, _variant, model, _quant, _trained, _say, *_rest):
        path = tmp_path / f"{model}.tflite"
        shutil.copy(DATA / files[model], path)
        graph = read_tflite(path)
        cost = analyze_graph(graph, model)
        return collect.Converted(path, cost.params, cost.input_shape, cost, graph, collect.file_digest(path))

    monkeypatch.setenv("EDGEKIT_BENCH_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(plan, "QUICK", replace(plan.QUICK, runs=2, min_seconds=0.01, rounds=2, budget=1.0,
                                               warmup_seconds=0.05))
    monkeypatch.setattr(collect, "_convert", convert)
    monkeypatch.setattr(facts, "BREAKDOWN_MODELS", ("mobilenetv2",))

    def full(self, run_id, doc):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ResultStore, "add", full)
    out, db = tmp_path / "out", tmp_path / "r.db"
    with pytest.raises(EdgekitError) as err:
        study(out=out, models="lenet5,mobilenetv2", quant="fp32", targets="cpu", quick=True, db=db)
    [kept] = _unsaved(tmp_path)
    assert err.value.exit_code == 1 and str(err.value) == (
        f"2 result(s) could not be stored in the results database {str(db)!r} (database or disk is full); they are "
        f"kept in {str(kept)!r}")
    assert {d["model"] for d in json.loads(kept.read_text())} == {"lenet5", "mobilenetv2"}
    report = (out / "report.md").read_text()
    assert "lenet5" in report and "mobilenetv2" in report
    assert len(json.loads((out / "results.json").read_text())["rows"]) == 2


# B: --csv follows the -o rules


def test_csv_is_never_overwritten_without_force_and_is_checked_before_measuring(tmp_path):
    csv, db = tmp_path / "mine.csv", tmp_path / "r.db"
    csv.write_text("the user's own\n")
    line = assert_one_line_error(run_cli("bench", TINY, *FAST, "--db", str(db), "--csv", str(csv)), 2)
    assert f"--csv {str(csv)!r} already exists; pass --force to replace it" in line
    assert csv.read_text() == "the user's own\n" and not db.exists()  # refused before anything was measured
    run = run_cli("bench", TINY, *FAST, "--db", str(db), "--csv", str(csv), "--force")
    assert run.code == 0, run.err
    assert csv.read_text().startswith("id,run_id,") and not list(tmp_path.glob(".mine.csv.*"))


@pytest.mark.parametrize("case", ["folder", "no_folder", "fifo"])
def test_bad_csv_paths_are_refused_before_measuring(tmp_path, case):
    csv = {"folder": tmp_path, "no_folder": tmp_path / "nope" / "r.csv", "fifo": tmp_path / "pipe.csv"}[case]
    if case == "fifo":
        os.mkfifo(csv)
    db = tmp_path / "r.db"
    line = assert_one_line_error(run_cli("bench", TINY, *FAST, "--db", str(db), "--csv", str(csv), "--force"), 2)
    assert {"folder": "is a folder", "no_folder": "does not exist", "fifo": "is a FIFO"}[case] in line, line
    assert not db.exists()


def test_csv_on_a_full_disk_leaves_the_old_file_whole(tmp_path):
    """Atomic: the new CSV cannot be written, the old one is untouched and no partial file is left; the estimate
    table is still printed, then one line (exit 1)."""
    with _tmpfs(tmp_path / "full") as full:
        csv = full / "r.csv"
        csv.write_text("old\n")
        _fill(full, 0)
        run = run_cli("bench", TINY, "--target", "rpi4", "--csv", str(csv), "--force", cwd=tmp_path)
        line = assert_one_line_error(run, 1)
        assert line.startswith("edgekit: error: --csv: cannot write") and "No space left" in line, line
        assert "edgekit bench estimate for rpi4" in run.out  # the table first
        assert csv.read_text() == "old\n" and sorted(p.name for p in full.iterdir()) == ["filler", "r.csv"]


# C: the read-only commands change nothing


def _other_program_db(path: Path, sql: str) -> bytes:
    with sqlite3.connect(path) as con:
        con.execute(sql)
        con.execute("INSERT INTO " + sql.split()[2].split("(")[0] + " VALUES (1, 2)")
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize("sql, why", [
    ("CREATE TABLE notes (a, b)", "it has other tables (notes) and no results table"),
    ("CREATE TABLE results (a, b)", "its results table has the columns a, b, not edgekit's"),
])
def test_another_programs_database_is_refused_untouched(tmp_path, sql, why):
    db = tmp_path / "other.db"
    before = _other_program_db(db, sql)
    for args in (["results"], ["results", "--last", "3", "--json"], ["results", "compare", "1", "2"],
                 ["bench", TINY, *FAST]):
        line = assert_one_line_error(run_cli(*args, "--db", str(db), cwd=tmp_path), 1)
        assert f"{str(db)!r} is not an edgekit results database ({why})" in line, line
        assert "cannot write" not in line
        assert db.read_bytes() == before  # no tables added, still not WAL (byte 19)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_results_on_a_missing_database_creates_nothing(tmp_path):
    db = tmp_path / "typo" / "sub" / "x.db"
    for args in (["results"], ["results", "compare", "1", "2"]):
        line = assert_one_line_error(run_cli(*args, "--db", str(db)), 1)
        assert f"no results database at {str(db)!r}; run edgekit bench first" in line
    assert not (tmp_path / "typo").exists()


def test_results_reads_a_wal_database_without_changing_it(tmp_path):
    db = _db(tmp_path / "r.db")
    before = db.read_bytes()
    assert before[18:20] == b"\x02\x02"  # WAL
    listed = run_cli("results", "--db", str(db), "--json")
    assert listed.code == 0, listed.err
    assert [r["model"] for r in listed.json()] == ["m0", "m1", "m2"]
    compared = run_cli("results", "compare", "1", "1", "--db", str(db), "--json")
    assert compared.code == 0, compared.err
    assert compared.json()[0]["a_id"] == 1
    assert db.read_bytes() == before


def test_results_reads_a_wal_database_in_a_read_only_folder(tmp_path):
    """No -shm file can be made there: the reader falls back to SQLite's immutable mode."""
    with _tmpfs(tmp_path / "ro", "1m") as ro:
        db = _db(ro / "r.db")
        before = db.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        listed = run_cli("results", "--db", str(db), "--json")
        assert listed.code == 0, listed.err
        assert [r["model"] for r in listed.json()] == ["m0", "m1", "m2"]
        assert db.read_bytes() == before


def test_an_empty_file_is_an_empty_history(tmp_path):
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    run = run_cli("results", "--db", str(db), "--json")
    assert run.code == 0 and run.json() == []
    assert db.read_bytes() == b""


# D: one line, never a traceback


def test_huge_last_and_ids_are_not_tracebacks(tmp_path):
    db = _db(tmp_path / "r.db")
    run = run_cli("results", "--last", "99999999999999999999", "--db", str(db), "--json")
    if run.code == 0:  # clamped: every result, as no database holds more than 2**63-1
        assert len(run.json()) == 3
    else:  # or refused by the option's own range
        assert "--last" in assert_one_line_error(run, 2)
    assert len(ResultStore(db, readonly=True).last(10**30)) == 3  # the store clamps what it is given
    line = assert_one_line_error(run_cli("results", "compare", "1", "999999999999999999999999", "--db", str(db)), 2)
    assert "no result or run '999999999999999999999999'" in line


@pytest.mark.parametrize("damage", ["pages", "not_sqlite"])
def test_a_corrupt_database_is_one_line_saying_so(tmp_path, damage):
    db = tmp_path / "r.db"
    if damage == "pages":
        _corrupt_pages(db)
    else:
        db.write_bytes(b"this is not a database, just some text " * 200)
    before = db.read_bytes()
    expect = "is corrupt (database disk image is malformed)" if damage == "pages" else "is not an SQLite database"
    for args in (["results"], ["results", "compare", "1", "2"]):
        line = assert_one_line_error(run_cli(*args, "--db", str(db)), 1)
        assert expect in line and "cannot write" not in line and "writable" not in line, line
    if damage == "not_sqlite":  # the header is wrong: refused before measuring, as an unwritable --db is
        line = assert_one_line_error(run_cli("bench", TINY, *FAST, "--db", str(db)), 1)
        assert expect in line, line
    assert db.read_bytes() == before
