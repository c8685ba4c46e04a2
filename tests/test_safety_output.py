"""Issue 29, outputs: nothing the user had is replaced or lost, whatever the options.

``study --out DIR --force`` replaces only an earlier study (its marker and its file names), never the folder
itself; ``-o`` and ``--out`` never replace a device, a socket or a FIFO; a model and its sidecar are written as a
pair, and a re-run finishes a pair a kill cut short; a full disk or Ctrl-C leaves no temporary behind. Each test
reproduces its case first; only the two convert-CLI tests need TensorFlow (lenet5, a few seconds, converted once).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from converters.output import check_output, sidecar_path, write_pair
from edgekit.errors import EdgekitError, UsageError
from edgekit.study import report
from edgekit.study.study_row import StudyRow
from tests.conftest import ROOT, assert_one_line_error, run_cli

EXAMPLE = ROOT / "docs" / "study-example" / "results.json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def doc(monkeypatch):
    """A real study document (the committed example); its plots are stand-ins, so no matplotlib runs."""
    plots = {"latency_vs_macs.png": PNG, "size_by_quant.png": PNG}
    monkeypatch.setattr(report, "make_plots", lambda _doc: dict(plots))
    d = json.loads(EXAMPLE.read_text())
    d["rows"] = [StudyRow.from_dict(r) for r in d["rows"]]  # the study's records, as it writes them
    d["_plots"] = plots  # the test may change which plots the next write draws
    return d


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.tflite"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        if os.geteuid() != 0:
            pytest.skip("making a character device (os.mknod) needs root")
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
    return path


def _is_special(path: Path) -> bool:
    mode = os.lstat(path).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


# --- study --out ---------------------------------------------------------------------------------------------

def test_study_force_never_deletes_what_it_did_not_write(tmp_path):
    """The issue's case: `cd p && edgekit study ... --out . --force` deleted thesis.tex and src/."""
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "thesis.tex").write_text("x\n")
    (p / "src" / "main.c").write_text("int main;\n")
    run = run_cli("study", "--quick", "--models", "lenet5", "--quant", "int8", "--targets", "rpi4", "--out", ".",
                  "--force", "--db", str(tmp_path / "r.db"), cwd=p, env={"HOME": str(tmp_path)})
    line = assert_one_line_error(run, 2)
    assert "'src'" in line and "did not write" in line and "even with --force" in line
    assert (p / "thesis.tex").read_text() == "x\n" and (p / "src" / "main.c").is_file()
    assert _names(p) == ["src", "thesis.tex"]


def test_write_refuses_a_foreign_file_at_write_time_too(tmp_path, doc):
    out = tmp_path / "out"
    report.write(out, doc, force=False)
    (out / "notes.txt").write_text("mine")  # appeared while the study ran, after the plan's check
    with pytest.raises(UsageError, match=r"'notes\.txt', which edgekit study did not write"):
        report.write(out, doc, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / report.MARKER).is_file()


def test_a_folder_in_out_is_foreign(tmp_path, doc):
    out = tmp_path / "out"
    report.write(out, doc, force=False)
    (out / "report.md").unlink()
    (out / "report.md").mkdir()  # a study's name, but a folder: not the study's
    with pytest.raises(UsageError, match=r"'report\.md', which edgekit study did not write"):
        report.write(out, doc, force=True)


def test_earlier_study_is_replaced_in_place_with_force(tmp_path, doc):
    out = tmp_path / "out"
    report.write(out, doc, force=False)
    marker = json.loads((out / report.MARKER).read_text())
    assert marker["format"] == report.MARKER_FORMAT and "report.html" in marker["files"] and marker["edgekit"]
    assert "size_by_quant.png" in _names(out)
    with pytest.raises(UsageError, match="already exists; pass --force"):
        report.write(out, doc, force=False)
    inode = out.stat().st_ino
    doc["_plots"].pop("size_by_quant.png")  # this time the study draws one plot fewer
    report.write(out, doc, force=True)
    assert out.stat().st_ino == inode  # the same folder, written into, not swapped
    assert _names(out) == sorted([report.MARKER, "results.json", "results.csv", "report.md", "report.html",
                                  "latency_vs_macs.png"])  # the earlier study's extra plot is gone, no temporaries
    assert "size_by_quant.png" not in json.loads((out / report.MARKER).read_text())["files"]


def test_out_dot_replaces_an_earlier_study_in_the_working_folder(tmp_path, doc, monkeypatch):
    out = tmp_path / "out"
    report.write(out, doc, force=False)
    monkeypatch.chdir(out)
    report.write(Path("."), doc, force=True)
    assert os.getcwd() == str(out) and os.path.samefile(".", out)  # the shell's working folder is still there
    assert (out / "report.html").is_file() and not [n for n in _names(out) if n.endswith(".tmp")]
    run = run_cli("study", "--quick", "--models", "lenet5", "--out", ".", "--db", str(tmp_path / "r.db"), cwd=out)
    assert "already exists; pass --force" in assert_one_line_error(run, 2)  # without --force, as before


def test_a_study_without_its_marker_is_not_replaced(tmp_path, doc):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("an older edgekit's, or someone's own")
    for force in (False, True):
        with pytest.raises(UsageError, match=r"no \.edgekit-study marker"):
            report.write(out, doc, force=force)
    assert _names(out) == ["report.md"]


def test_an_empty_folder_or_one_with_only_leftover_temporaries_is_used(tmp_path, doc):
    empty = tmp_path / "empty"
    empty.mkdir()
    report.write(empty, doc, force=True)
    assert (empty / "report.html").is_file()
    left = tmp_path / "left"
    left.mkdir()
    (left / ".report.html.k1ll3d.tmp").write_text("<html>partial")  # what a kill -9 mid-write leaves
    report.write(left, doc, force=True)
    assert ".report.html.k1ll3d.tmp" not in _names(left) and (left / "results.json").is_file()


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_out_that_is_a_special_file_is_refused_with_force(tmp_path, doc, kind):
    out = _special(tmp_path, kind)
    with pytest.raises(UsageError, match="never replaces one, even with --force"):
        report.write(out, doc, force=True)
    assert _is_special(out)
    run = run_cli("study", "--quick", "--models", "lenet5", "--out", str(out), "--force", "--db",
                  str(tmp_path / "r.db"))
    assert "--out" in assert_one_line_error(run, 2) and _is_special(out)


def _full_disk_on(monkeypatch, nth: int, exc: BaseException):
    """The ``nth`` temporary's write stops half way with ``exc`` (ENOSPC: a full disk; KeyboardInterrupt: Ctrl-C)."""
    import edgekit.atomic

    real, calls = os.fdopen, []

    class Half:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[:len(data) // 2])
            raise exc

    def fdopen(fd, *args, **kwargs):
        calls.append(fd)
        fh = real(fd, *args, **kwargs)
        return Half(fh) if len(calls) == nth else fh

    monkeypatch.setattr(edgekit.atomic.os, "fdopen", fdopen)


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["ENOSPC", "ctrl-c"])
def test_full_disk_or_ctrl_c_leaves_the_earlier_study_whole_and_no_temporaries(tmp_path, doc, monkeypatch, exc):
    out = tmp_path / "out"
    report.write(out, doc, force=False)
    before = {n: (out / n).read_bytes() for n in _names(out)}
    doc["conclusion"] = ["a different study"]
    _full_disk_on(monkeypatch, 5, exc)  # the marker, results.json, .csv, report.md, then report.html
    if isinstance(exc, OSError):
        with pytest.raises(EdgekitError, match="No space left on device; what was there is unchanged") as err:
            report.write(out, doc, force=True)
        assert "\n" not in str(err.value)
    else:
        with pytest.raises(KeyboardInterrupt):
            report.write(out, doc, force=True)
    assert {n: (out / n).read_bytes() for n in _names(out)} == before
    assert _names(tmp_path) == ["out"]


def test_full_disk_on_a_new_out_leaves_nothing(tmp_path, doc, monkeypatch):
    out = tmp_path / "new" / "deeper"
    _full_disk_on(monkeypatch, 5, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(EdgekitError, match="No space left on device"):
        report.write(out, doc, force=False)
    assert _names(tmp_path) == []  # neither the folders it made nor a hidden .OUT.xxxx/


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs, the real full disk (needs root; skipped otherwise)."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    yield where
    subprocess.run(["umount", str(where)], check=False)


def test_a_really_full_disk_is_one_line_and_leaves_nothing(small_disk, doc):
    doc["_plots"]["latency_vs_macs.png"] = PNG + os.urandom(200_000)  # larger than the disk
    with pytest.raises(EdgekitError, match="No space left on device") as err:
        report.write(small_disk / "out", doc, force=False)
    assert "\n" not in str(err.value) and _names(small_disk) == []


# --- convert / train -o ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_convert_output_that_is_a_special_file_is_refused_with_force(tmp_path, kind):
    out = _special(tmp_path, kind)
    with pytest.raises(UsageError, match="never replaces one, even with --force"):
        check_output(out, force=True)
    with pytest.raises(UsageError, match="never replaces one"):
        write_pair(out, b"TFL3", {}, force=True)
    run = run_cli("convert", "lenet5", "--fp32", "-o", str(out), "--force", cwd=tmp_path,
                  env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert "-o" in assert_one_line_error(run, 2) and _is_special(out)


def test_convert_sidecar_that_is_a_special_file_is_refused_with_force(tmp_path):
    out = tmp_path / "m.tflite"
    os.mkfifo(sidecar_path(out))
    with pytest.raises(UsageError, match=r"the sidecar of -o .* is a FIFO"):
        check_output(out, force=True)
    with pytest.raises(UsageError, match="is a FIFO"):
        write_pair(out, b"TFL3", {}, force=True)
    assert _is_special(sidecar_path(out)) and not out.exists()


def test_dev_null_is_never_replaced(tmp_path):
    with pytest.raises(UsageError, match="a character device"):
        check_output(Path("/dev/null"), force=True)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_train_output_that_is_a_special_file_is_refused_with_force(tmp_path):
    from edgekit.models.train import _check_output

    out = tmp_path / "m.keras"
    os.mkfifo(out)
    with pytest.raises(UsageError, match=r"-o .* is a FIFO"):
        _check_output(out, force=True)
    os.unlink(out)
    os.mkfifo(tmp_path / "m.keras.json")
    with pytest.raises(UsageError, match=r"the training record of -o .* is a FIFO"):
        _check_output(out, force=True)


# --- the pair ----------------------------------------------------------------------------------------------------

def _old_pair(tmp_path: Path) -> Path:
    out = tmp_path / "m.tflite"
    out.write_bytes(b"old model")
    sidecar_path(out).write_text('{"old": true}\n')
    return out


def _pair(out: Path) -> tuple[bytes, dict]:
    return out.read_bytes(), json.loads(sidecar_path(out).read_text())


def test_sidecar_that_cannot_be_written_leaves_the_old_pair(tmp_path, monkeypatch):
    """The issue's case: convert --force, the new sidecar fails, and the new model sat beside the old sidecar."""
    out = _old_pair(tmp_path)
    _full_disk_on(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))  # the sidecar's temporary
    with pytest.raises(EdgekitError, match="No space left on device"):
        write_pair(out, b"new model", {"new": True}, force=True)
    assert _pair(out) == (b"old model", {"old": True}) and _names(tmp_path) == ["m.tflite", "m.tflite.json"]


def test_sidecar_rename_that_fails_puts_the_old_pair_back(tmp_path, monkeypatch):
    out = _old_pair(tmp_path)
    real = os.replace

    def replace(src, dst):
        if str(dst).endswith(".json") and str(src).endswith(".tmp"):
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr("converters.output.os.replace", replace)
    with pytest.raises(EdgekitError, match="Input/output error"):
        write_pair(out, b"new model", {"new": True}, force=True)
    monkeypatch.undo()
    assert _pair(out) == (b"old model", {"old": True}) and _names(tmp_path) == ["m.tflite", "m.tflite.json"]
    write_pair(out, b"new model", {"new": True}, force=True)
    assert _pair(out) == (b"new model", {"new": True}) and _names(tmp_path) == ["m.tflite", "m.tflite.json"]


_KILLED = """
import os, signal, sys
from pathlib import Path
from converters.output import write_pair
real, n = os.replace, []
def replace(src, dst):
    n.append(dst)
    if len(n) == 4:  # the old sidecar and the old model set aside, the new model in: then the sidecar's rename
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = replace
write_pair(Path(sys.argv[1]), b"TFL3 new model", {"new": True}, force=True)
"""


def test_a_kill_between_the_renames_leaves_no_mix_and_a_rerun_finishes_the_pair(tmp_path):
    out = _old_pair(tmp_path)
    killed = subprocess.run([sys.executable, "-c", _KILLED, str(out)], cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    visible = [n for n in _names(tmp_path) if not n.startswith(".")]
    assert visible == ["m.tflite"] and out.read_bytes() == b"TFL3 new model"  # never beside the old sidecar
    with pytest.raises(EdgekitError, match=r"m\.tflite' already exists"):
        write_pair(out, b"TFL3 other model", {"new": True}, force=False)  # a different orphan is not ours
    write_pair(out, b"TFL3 new model", {"new": True}, force=False)  # the same bytes: finish the pair, no --force
    assert _pair(out) == (b"TFL3 new model", {"new": True})


def test_check_output_passes_only_a_tflite_orphan(tmp_path):
    out = tmp_path / "m.tflite"
    out.write_bytes(b"precious, not a model")
    with pytest.raises(EdgekitError, match="already exists; pass --force"):
        check_output(out, force=False)
    out.write_bytes(b"\x1c\0\0\0TFL3 a model without its sidecar")
    assert check_output(out, force=False) == out
    sidecar_path(out).write_text("{}")
    with pytest.raises(EdgekitError, match="already exists; pass --force"):
        check_output(out, force=False)


@pytest.fixture(scope="module")
def convert_cache(tmp_path_factory):
    return {"EDGEKIT_CACHE_DIR": str(tmp_path_factory.mktemp("convert_cache"))}


def test_convert_rerun_finishes_a_pair_cut_short(tf, tmp_path, convert_cache):
    first = run_cli("convert", "lenet5", "--fp32", "-o", "m.tflite", cwd=tmp_path, env=convert_cache)
    assert first.code == 0, first.err
    side = sidecar_path(tmp_path / "m.tflite")
    meta = side.read_text()
    side.unlink()  # what a kill between the model's rename and the sidecar's leaves
    again = run_cli("convert", "lenet5", "--fp32", "-o", "m.tflite", cwd=tmp_path, env=convert_cache)
    assert again.code == 0, again.err
    assert side.read_text() == meta and _names(tmp_path) == ["m.tflite", "m.tflite.json"]


def test_convert_refuses_an_orphan_that_differs(tf, tmp_path, convert_cache):
    out = tmp_path / "m.tflite"
    out.write_bytes(b"\x1c\0\0\0TFL3 someone else's model")
    run = run_cli("convert", "lenet5", "--fp32", "-o", "m.tflite", cwd=tmp_path, env=convert_cache)
    assert "already exists; pass --force" in assert_one_line_error(run, 1)
    assert out.read_bytes() == b"\x1c\0\0\0TFL3 someone else's model" and _names(tmp_path) == ["m.tflite"]


def test_a_study_whose_every_row_failed_or_was_emulated_still_writes_its_report(tmp_path):
    """make_plots divided by zero when no zoo row was left to plot (every cell failed, or ran on an emulator),
    and the report was lost: now the report is written without the latency and size plots."""
    pytest.importorskip("matplotlib")
    doc = json.loads(EXAMPLE.read_text())
    for i, row in enumerate(doc["rows"]):
        row["emulated" if i % 2 else "error"] = True if i % 2 else "the device went away"
        if not i % 2:
            row.pop("latency_ms", None)
            row["measured"] = False
    doc["rows"] = [StudyRow.from_dict(r) for r in doc["rows"]]
    assert "latency_vs_macs.png" not in report.make_plots(doc)
    report.write(tmp_path / "out", doc, force=False)
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "results.json").is_file()
