"""SIGTERM and SIGHUP are Ctrl-C (issue 29): what is final is kept, children stop, temporary folders go, one line,
exit 143 or 129. And a run killed outright (kill -9) leaves nothing that the next run does not remove.

Each command runs as a user's would, in a fresh process with its own HOME and TMPDIR; the signal goes to that
process alone, as ``timeout``, ``kill`` or systemd send it (a terminal's Ctrl-C reaches the whole group).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgekit import children, interrupt, tempdirs
from tests.conftest import DATA, ROOT


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp"),
            "EDGEKIT_CACHE_DIR": str(tmp_path / "cache"), "EDGEKIT_TF_LOG": str(tmp_path / "logs" / "tf.log")}


def _start(tmp_path: Path, *args: str | bytes) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgekit", *args], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_signals)


def _default_signals() -> None:
    """The child starts with Python's defaults, whatever this run inherited (under nohup, SIGHUP is ignored, and
    edgekit rightly leaves an ignored signal ignored)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _wait_for(what, timeout: float = 120, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the command ended (exit {proc.returncode}) before the signal: {err.decode()[-2000:]}")
        time.sleep(0.05)
    pytest.fail("timed out waiting for the moment to send the signal")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children.children(todo.pop())
        found += kids
        todo += kids
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:  # it ended between being listed and being read
        return ""


def _child_running(pid: int, module: str) -> list[int]:
    return [c for c in _descendants(pid) if module in _cmdline(c)]


def _alive(pid: int) -> bool:
    fields = tempdirs.proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def _ended(proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return out.decode(errors="replace"), err.decode(errors="replace")


def _error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("edgekit: error:")]


def _saved_models(tmp_path: Path) -> list[int]:
    """The owners of the SavedModel folders that hold a model already: TensorFlow is at work in them."""
    return [tempdirs.owner(p.name) for p in (tmp_path / "tmp").glob("edgekit-savedmodel-*")
            if list(p.rglob("saved_model.pb"))]


def _docs(db: Path) -> list[dict]:
    import json

    with sqlite3.connect(db) as con:
        return [json.loads(r[0]) for r in con.execute("SELECT doc FROM results ORDER BY id")]


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]


# The guard itself, in this process.

@pytest.fixture(autouse=True)
def _forward_nothing(monkeypatch):
    """A SIGTERM sent to this process (pytest) is not passed on to what else it runs."""
    monkeypatch.setattr(children, "forward", lambda signum: None)


@pytest.fixture
def _default_handlers():
    """SIGTERM and SIGHUP at Python's defaults, as a shell gives them (under nohup SIGHUP is ignored), and back."""
    previous = {signum: signal.signal(signum, signal.SIG_DFL) for signum in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("_default_handlers")
def test_sigterm_inside_the_guard_is_a_keyboard_interrupt_that_says_so():
    with pytest.raises(interrupt.Terminated) as caught, interrupt.guard():
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(60)  # the signal ends this wait at once; 60 s means it was not caught
    assert isinstance(caught.value, KeyboardInterrupt)
    assert interrupt.how(caught.value) == ("terminated (SIGTERM)", 143)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    assert interrupt.how(KeyboardInterrupt()) == ("interrupted", 130)


def test_an_ignored_sighup_stays_ignored_and_sigterm_works_without_sigint():
    """nohup ignores SIGHUP, and a background job SIGINT: the guard keeps both ignored, and SIGTERM still works."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN), signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(interrupt.Terminated), interrupt.guard():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)
            threading.Event().wait(60)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old[0])
        signal.signal(signal.SIGINT, old[1])


def test_sigterm_that_library_code_turned_into_another_error_is_still_one_line(monkeypatch, capsys):
    """TensorFlow's C++ turns a KeyboardInterrupt raised inside its callbacks into an error of its own."""
    from edgekit.cli import info, main

    def rows():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            threading.Event().wait(60)
        except KeyboardInterrupt as err:
            raise RuntimeError("At: errors_impl.py(313): __init__") from err

    monkeypatch.setattr(info, "zoo_rows", rows)
    assert main(["models"]) == 143
    assert capsys.readouterr().err.strip() == "edgekit: error: terminated (SIGTERM)"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# Whole commands, in fresh processes.

def test_sigterm_to_bench_keeps_what_was_final_and_stops_the_round(tmp_path):
    """The first model cannot be read: its failure row is final (and stored) at once; SIGTERM comes during a round
    of the second. Exit 143, one line, the row kept, the round's process gone."""
    (tmp_path / "bad.tflite").write_bytes(b"not a model")
    db = tmp_path / "results.db"
    proc = _start(tmp_path, "bench", "bad.tflite", str(DATA / "tiny_fp32.tflite"), "--rounds", "8",
                  "--min-seconds", "1", "--db", str(db))
    rounds = _wait_for(lambda: db.exists() and _rows(db) and _child_running(proc.pid, "bench.child"), proc=proc)
    proc.send_signal(signal.SIGTERM)
    _, err = _ended(proc)
    assert proc.returncode == 143, err
    lines = _error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: terminated (SIGTERM)"), err
    docs = _docs(db)
    assert docs[0]["model"] == "bad" and "error" in docs[0]
    # the second model's finished rounds, if a round had finished before the signal, are kept and say so
    assert all(any(w.startswith("interrupted:") for w in d["warnings"]) for d in docs[1:]) and len(docs) <= 2
    assert not [pid for pid in rounds if _alive(pid)]


def test_sigterm_mid_rounds_keeps_each_configs_finished_rounds(tmp_path):
    """The issue's case: `timeout 6 edgekit bench A B --rounds 8 --min-seconds 1` stored nothing, though rounds had
    finished. Now each config's finished rounds become a result, stored, marked as interrupted, and the one line
    counts them."""
    db = tmp_path / "results.db"
    proc = _start(tmp_path, "bench", str(DATA / "tiny_fp32.tflite"), str(DATA / "tiny_int8.tflite"), "--rounds", "8",
                  "--min-seconds", "1", "--db", str(db))
    seen: set[int] = set()

    def third_round() -> bool:  # rounds alternate A, B, A, ...: a third round process means A and B each have one
        seen.update(_child_running(proc.pid, "bench.child"))
        return len(seen) >= 3

    _wait_for(third_round, proc=proc)
    proc.send_signal(signal.SIGTERM)
    _, err = _ended(proc)
    assert proc.returncode == 143, err
    lines = _error_lines(err)
    assert len(lines) == 1 and "2 result(s) kept in" in lines[0], err
    docs = _docs(db)
    assert [d["model"] for d in docs] == ["tiny_fp32", "tiny_int8"]
    for d in docs:
        assert 1 <= d["rounds"] < 8 and d["latency_ms"]["p50"] > 0
        assert any(w.startswith(f"interrupted: {d['rounds']} of at least 8 round(s)") for w in d["warnings"]), d


def test_sighup_to_bench_exits_129(tmp_path):
    proc = _start(tmp_path, "bench", str(DATA / "tiny_int8.tflite"), "--rounds", "8", "--min-seconds", "1",
                  "--db", str(tmp_path / "results.db"))
    rounds = _wait_for(lambda: _child_running(proc.pid, "bench.child"), proc=proc)
    proc.send_signal(signal.SIGHUP)
    _, err = _ended(proc)
    assert proc.returncode == 129, err
    lines = _error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: terminated (SIGHUP); 0 result(s) kept in"), err
    assert not [pid for pid in rounds if _alive(pid)]


def test_stale_temporary_folders_are_removed_by_the_next_run(tmp_path):
    """A folder whose owner is gone is removed by any command; one whose owner runs, and any other name, stay."""
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "60"])
    try:
        stale = env_tmp / f"edgekit-savedmodel-{dead.pid}-abc123"
        (stale / "variables").mkdir(parents=True)
        (stale / "variables" / "variables.data").write_bytes(b"x" * 1000)
        reused = env_tmp / "edgekit-stages-1-def456"  # PID 1 started long after this folder was written
        reused.mkdir()
        os.utime(reused, (0, 0))
        kept = {f"edgekit-convert-{live.pid}-ghi789", f"edgekit-unknown-{dead.pid}-x", f"other-{dead.pid}-x",
                f"edgekit-savedmodel-{dead.pid}"}
        for name in kept:
            (env_tmp / name).mkdir()
        proc = subprocess.run([sys.executable, "-m", "edgekit", "models", "--json"], env=_env(tmp_path),
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert {p.name for p in env_tmp.iterdir()} == kept
    finally:
        live.kill()
        live.wait()


def test_temp_dir_names_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with tempdirs.temp_dir("savedmodel") as folder:
        assert folder.parent == tmp_path and tempdirs.owner(folder.name) == os.getpid()
        assert tempdirs.sweep(tmp_path) == []  # its owner runs
    assert not folder.exists()
    with pytest.raises(ValueError, match="kinds are"):
        tempdirs.prefix("nope")


@pytest.mark.tf
@pytest.mark.heavy  # a TensorFlow conversion in a fresh process (5 s): CI's heavy tier
def test_sigterm_to_convert_removes_its_folder(tmp_path):
    """SIGTERM while the float model is saved and converted: exit 143, one line, no output, no temporary folder,
    no process left."""
    proc = _start(tmp_path, "convert", "lenet5", "--int8", "--samples", "200", "--no-cache", "-o", "out.tflite")
    _wait_for(lambda: _saved_models(tmp_path), proc=proc)
    before = _descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = _ended(proc, timeout=120)
    assert proc.returncode == 143 and out == "", err
    assert _error_lines(err) == ["edgekit: error: terminated (SIGTERM); no output was written"], err
    assert not list((tmp_path / "tmp").iterdir()) and not (tmp_path / "out.tflite").exists()
    assert not [pid for pid in before if _alive(pid)]


@pytest.mark.tf
@pytest.mark.heavy  # a TensorFlow conversion in a fresh process (5 s): CI's heavy tier
def test_an_output_path_that_is_not_utf8(tmp_path):
    """``-o`` with a byte that is not UTF-8 (a name from another system): written under exactly that name, and the
    argv that TensorFlow's log header repeats is no traceback."""
    name = b"out\xff.tflite"
    proc = subprocess.run([sys.executable.encode(), b"-m", b"edgekit", b"convert", b"lenet5", b"--fp32", b"-o", name],
                          cwd=tmp_path, env=_env(tmp_path), capture_output=True, timeout=300)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert name in os.listdir(os.fsencode(tmp_path))
    assert b"out\\udcff.tflite" in (tmp_path / "logs" / "tf.log").read_bytes()


def _study(tmp_path: Path) -> subprocess.Popen:
    return _start(tmp_path, "study", "--quick", "--models", "lenet5", "--quant", "int8", "--targets", "rpi4",
                  "--out", str(tmp_path / "study"))


def _converting_child(tmp_path: Path, proc: subprocess.Popen) -> int:
    """The study's conversion process, once it has written the float model to its SavedModel folder."""
    def ready():
        return [k for k in _child_running(proc.pid, "converters.isolated") if k in _saved_models(tmp_path)]

    return _wait_for(ready, timeout=180, proc=proc)[0]


@pytest.mark.tf
@pytest.mark.heavy  # about 15 s
def test_sigterm_to_a_study_stops_its_conversion(tmp_path):
    proc = _study(tmp_path)
    child = _converting_child(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    while _alive(child) and time.monotonic() - sent < 10:
        time.sleep(0.02)
    gone_after = time.monotonic() - sent
    _, err = _ended(proc, timeout=120)
    assert gone_after < 2.5, f"the conversion went on for {gone_after:.1f} s"
    assert proc.returncode == 143, err
    lines = _error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: terminated (SIGTERM); 0 new measurement(s)"), err
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.tf
@pytest.mark.heavy  # about 15 s
def test_kill_9_to_a_study_ends_its_conversion_and_the_next_run_cleans_up(tmp_path):
    """kill -9 runs no code in edgekit: the conversion process gets SIGTERM from Linux (PR_SET_PDEATHSIG) and
    removes its own folder; the study's folder stays until the next command."""
    proc = _study(tmp_path)
    child = _converting_child(tmp_path, proc)
    proc.kill()
    proc.wait()
    _wait_for(lambda: not _alive(child), timeout=5)
    left = list((tmp_path / "tmp").iterdir())
    assert [tempdirs.owner(p.name) for p in left] == [proc.pid] * len(left)  # the child's own folder is gone
    subprocess.run([sys.executable, "-m", "edgekit", "models", "--json"], env=_env(tmp_path), capture_output=True,
                   check=True, timeout=120)
    assert not list((tmp_path / "tmp").iterdir())
