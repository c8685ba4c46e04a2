"""Issue 29: the converter cache verifies what it hands out.

An entry whose model was zeroed, truncated or altered (or whose meta.json was) is moved to ``quarantine/`` with
one warning and converted again, for ``convert``, ``bench`` and ``study`` alike; a cache folder that cannot be
used is one warning and no cache. The first tests need no TensorFlow; those marked ``tf`` convert LeNet-5.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from converters import cache
from tests.conftest import ROOT, run_cli, run_cli_process


def _flip(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


MODEL_DAMAGE = {"zeroed": lambda b: b"", "truncated": lambda b: b[: len(b) // 2], "flipped": _flip}


def _entries(root: Path, folder: str = "convert") -> list[Path]:
    return sorted((root / folder).iterdir()) if (root / folder).is_dir() else []


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _put(k: str = "k" * 32, model: bytes = b"TFL3" + bytes(range(200))) -> tuple[str, bytes, dict]:
    meta = {"sidecar": {"params": 10, "fidelity": {"cosine": 0.9999}}, "warnings": [], "per_layer": []}
    cache.put(k, model, meta)
    return k, model, meta


# --- the cache alone, no TensorFlow ---------------------------------------------------------------------------------


def test_an_entry_records_its_model_checksum_and_hands_back_what_was_put(root):
    k, model, meta = _put()
    doc = json.loads((root / "convert" / k / "meta.json").read_text())
    assert doc["model_sha256"] == hashlib.sha256(model).hexdigest() and doc["model_size"] == len(model)
    assert cache.get(k) == (model, meta)


def _damage_meta(entry: Path, change) -> None:
    doc = json.loads((entry / "meta.json").read_text())
    change(doc)
    (entry / "meta.json").write_text(json.dumps(doc))


DAMAGE = {
    **{name: (lambda e, f=f: (e / "model.tflite").write_bytes(f((e / "model.tflite").read_bytes())))
       for name, f in MODEL_DAMAGE.items()},
    "model missing": lambda e: (e / "model.tflite").unlink(),
    "meta not json": lambda e: (e / "meta.json").write_text('{"sidecar": {"par'),
    "meta altered": lambda e: _damage_meta(e, lambda d: d["sidecar"]["fidelity"].update(cosine=0.9899)),
    "older entry": lambda e: _damage_meta(e, lambda d: [d.pop(k) for k in ("model_sha256", "model_size",
                                                                           "meta_sha256")]),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_a_miss_moved_aside_with_one_warning(root, damage):
    k, _, _ = _put()
    entry = root / "convert" / k
    DAMAGE[damage](entry)
    before = {p.name: p.read_bytes() for p in entry.iterdir()}
    said: list[str] = []
    assert cache.get(k, said.append) is None
    assert len(said) == 1 and said[0].startswith(f"conversion cache entry {k} is damaged ("), said
    assert not entry.exists()
    (moved,) = _entries(root, "quarantine")
    assert moved.name.startswith(f"{k}-") and str(moved) in said[0]
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == before  # kept as it was, nothing lost
    assert cache.get(k, said.append) is None and len(said) == 1  # now a plain miss
    k, model, meta = _put()  # the entry written anew is a hit again
    assert cache.get(k, said.append) == (model, meta) and len(said) == 1


def test_without_a_callback_the_warning_is_one_edgekit_line_on_stderr(root, capsys):
    k, model, _ = _put()
    (root / "convert" / k / "model.tflite").write_bytes(b"")
    assert cache.get(k) is None and cache.get(k) is None
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgekit: warning: conversion cache entry "), lines
    assert f"model.tflite is 0 bytes, {len(model):,} when stored" in lines[0]


def test_a_half_written_entry_is_a_quiet_miss_left_for_its_writer(root):
    k, _, _ = _put()
    (root / "convert" / k / "meta.json").unlink()  # the model is written first, meta.json last
    said: list[str] = []
    assert cache.get(k, said.append) is None and said == []
    assert (root / "convert" / k / "model.tflite").is_file() and not _entries(root, "quarantine")


@pytest.mark.parametrize("blocked", ["cache", "cache/convert"])
def test_a_cache_folder_that_is_a_file_is_one_warning_and_no_cache(tmp_path, monkeypatch, blocked):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_bytes(b"the user's file")
    said: list[str] = []
    for _ in range(3):
        assert cache.get("k" * 32, said.append) is None
        cache.put("k" * 32, b"TFL3", {"sidecar": {}}, said.append)
    assert not cache.usable(said.append)
    assert len(said) == 1, said
    assert said[0] == (f"the conversion cache cannot be used ({tmp_path / blocked} is a file, not a folder); "
                       "converting without it (set EDGEKIT_CACHE_DIR to use another folder)")
    assert (tmp_path / blocked).read_bytes() == b"the user's file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any folder")
def test_a_read_only_cache_folder_is_one_warning_and_no_cache(root):
    (root / "convert").mkdir(parents=True)
    (root / "convert").chmod(0o555)
    said: list[str] = []
    try:
        assert cache.get("k" * 32, said.append) is None
        cache.put("k" * 32, b"TFL3", {"sidecar": {}}, said.append)
    finally:
        (root / "convert").chmod(0o755)
    assert len(said) == 1 and "cannot be used" in said[0] and not _entries(root)


# --- through the commands: LeNet-5 int8 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, tf) -> dict:
    """LeNet-5 int8 converted once by ``edgekit convert`` (20 samples, as bench converts) and by ``--samples 8``
    (as ``study --quick`` converts): each one's fresh bytes, and the cache holding both entries."""
    where = tmp_path_factory.mktemp("pristine")
    env = {"EDGEKIT_CACHE_DIR": str(where / "cache")}
    fresh = {}
    for samples in (20, 8):
        run = run_cli("convert", "lenet5", "--int8", "--samples", str(samples), "-o", f"s{samples}.tflite",
                      cwd=where, env=env)
        assert run.code == 0, run.err[-2000:]
        fresh[samples] = (where / f"s{samples}.tflite").read_bytes()
    entries = {hashlib.sha256((e / "model.tflite").read_bytes()).hexdigest(): e.name
               for e in _entries(where / "cache")}
    keys = {n: entries[hashlib.sha256(b).hexdigest()] for n, b in fresh.items()}
    return {"cache": where / "cache", "fresh": fresh, "key": keys}


def _damaged_cache(pristine: dict, tmp_path: Path, samples: int, damage: str) -> tuple[Path, Path]:
    root = tmp_path / "cache"
    shutil.copytree(pristine["cache"], root)
    entry = root / "convert" / pristine["key"][samples]
    DAMAGE[damage](entry)
    return root, entry


def _cache_warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "conversion cache" in line]


def _assert_rewritten(root: Path, entry: Path, fresh: bytes) -> None:
    """The damaged entry is in quarantine/, and a sound one with the fresh model is in its place."""
    assert len(_entries(root, "quarantine")) == 1
    got = cache.get(entry.name)
    assert got is not None and got[0] == fresh


@pytest.mark.tf
@pytest.mark.heavy  # three conversions; the default suite checks every damage on the cache itself
@pytest.mark.parametrize("damage", list(MODEL_DAMAGE))
def test_convert_reconverts_a_damaged_entry(pristine, tmp_path, monkeypatch, damage):
    root, entry = _damaged_cache(pristine, tmp_path, 20, damage)
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(root))
    run = run_cli("convert", "lenet5", "--int8", "-o", "b.tflite", "--json", cwd=tmp_path,
                  env={"EDGEKIT_CACHE_DIR": str(root)})
    assert run.code == 0, run.err[-2000:]
    assert not run.json()["cached"]
    (line,) = _cache_warnings(run.err)
    assert line.startswith(f"warning: conversion cache entry {entry.name} is damaged (")
    assert (tmp_path / "b.tflite").read_bytes() == pristine["fresh"][20]  # the same as a fresh conversion
    _assert_rewritten(root, entry, pristine["fresh"][20])
    again = run_cli("convert", "lenet5", "--int8", "-o", "c.tflite", "--json", cwd=tmp_path,
                    env={"EDGEKIT_CACHE_DIR": str(root)})
    assert again.code == 0 and again.json()["cached"] and not _cache_warnings(again.err)
    assert (tmp_path / "c.tflite").read_bytes() == pristine["fresh"][20]


@pytest.mark.tf
@pytest.mark.slow
def test_bench_of_a_zoo_model_reconverts_a_damaged_entry(pristine, tmp_path, monkeypatch):
    root, entry = _damaged_cache(pristine, tmp_path, 20, "zeroed")
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(root))
    env = {"EDGEKIT_CACHE_DIR": str(root), "EDGEKIT_BENCH_DIR": str(tmp_path / "bench")}
    run = run_cli("bench", "lenet5", "--quant", "int8", "--runs", "5", "--min-seconds", "0", "--warmup", "1",
                  "--rounds", "2", "--budget", "1", "--db", str(tmp_path / "r.db"), "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err[-2000:]
    (line,) = _cache_warnings(run.err)
    assert line.startswith(f"edgekit: warning: conversion cache entry {entry.name} is damaged (model.tflite is 0 ")
    (result,) = run.json()
    assert result["model"] == "lenet5" and not result.get("error")
    assert (tmp_path / "bench" / "lenet5_int8.tflite").read_bytes() == pristine["fresh"][20]
    _assert_rewritten(root, entry, pristine["fresh"][20])


@pytest.mark.tf
@pytest.mark.slow
def test_convert_with_a_cache_folder_that_is_a_file_warns_once_and_converts(pristine, tmp_path):
    (tmp_path / "cache").write_bytes(b"the user's file")
    run = run_cli("convert", "lenet5", "--int8", "-o", "b.tflite", cwd=tmp_path,
                  env={"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert run.code == 0, run.err[-2000:]
    (line,) = _cache_warnings(run.err)
    assert line == (f"warning: the conversion cache cannot be used ({tmp_path / 'cache'} is a file, not a folder); "
                    "converting without it (set EDGEKIT_CACHE_DIR to use another folder)")
    assert (tmp_path / "b.tflite").read_bytes() == pristine["fresh"][20]
    assert (tmp_path / "cache").read_bytes() == b"the user's file"


def _study(tmp_path: Path, root: Path, out: str):
    env = {"EDGEKIT_CACHE_DIR": str(root), "EDGEKIT_BENCH_DIR": str(tmp_path / "models"),
           "EDGEKIT_TF_LOG": str(tmp_path / "tf.log")}
    return run_cli_process("study", "--quick", "--models", "lenet5", "--quant", "int8", "--targets", "rpi4",
                           "--out", str(tmp_path / out), "--db", str(tmp_path / "r.db"), cwd=tmp_path, env=env)


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.heavy  # two study processes and a conversion in a third: about 30 s on 2 cores
def test_study_reconverts_a_damaged_entry_and_rewrites_its_own_copy(pristine, tmp_path, monkeypatch):
    """In a fresh process, as a user runs it: the warning must reach the terminal, not the study's log."""
    root, entry = _damaged_cache(pristine, tmp_path, 8, "truncated")
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(root))
    run = _study(tmp_path, root, "out")
    assert run.code == 0, run.err[-3000:]
    (line,) = _cache_warnings(run.err)
    assert f"conversion cache entry {entry.name} is damaged (model.tflite is " in line
    assert (tmp_path / "out" / "report.md").is_file()
    own = tmp_path / "models" / "study" / "lenet5_int8_quick.tflite"
    assert own.read_bytes() == pristine["fresh"][8]
    _assert_rewritten(root, entry, pristine["fresh"][8])
    own.write_bytes(own.read_bytes()[:100])  # the study's own copy is never reused as it is: the cache's is
    again = _study(tmp_path, root, "out2")
    assert again.code == 0, again.err[-3000:]
    assert not _cache_warnings(again.err) and own.read_bytes() == pristine["fresh"][8]
    assert (tmp_path / "out2" / "report.md").is_file()


@pytest.mark.tf
@pytest.mark.slow
def test_bench_with_a_cache_folder_that_is_a_file_warns_once_for_the_run(tmp_path):
    """Two conversions in one run (fp32 and int8): the unusable cache is one line, not one per conversion."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "convert").write_bytes(b"the user's file")
    env = {"EDGEKIT_CACHE_DIR": str(tmp_path / "cache"), "EDGEKIT_BENCH_DIR": str(tmp_path / "bench")}
    run = run_cli("bench", "lenet5", "--quant", "fp32,int8", "--target", "rpi4", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err[-2000:]
    (line,) = _cache_warnings(run.err)
    assert line.startswith("edgekit: warning: the conversion cache cannot be used (")
    assert [r["quant"] for r in run.json()] == ["fp32", "int8"]
    assert (tmp_path / "cache" / "convert").read_bytes() == b"the user's file"


def test_a_cache_folder_that_cannot_be_written_is_one_warning_and_no_cache(root, monkeypatch):
    """A read-only file system or folder, as ``os.access`` reports it (root writes any folder, so it is simulated)."""
    (root / "convert").mkdir(parents=True)
    monkeypatch.setattr(cache.os, "access", lambda *_a, **_k: False)
    said: list[str] = []
    assert cache.get("k" * 32, said.append) is None
    cache.put("k" * 32, b"TFL3", {"sidecar": {}}, said.append)
    assert said == [f"the conversion cache cannot be used ({root / 'convert'}: it cannot be both read and written); "
                    "converting without it (set EDGEKIT_CACHE_DIR to use another folder)"]
    assert not _entries(root)


def test_a_checked_hit_needs_no_tensorflow(tmp_path):
    code = ("import sys; from converters import cache; cache.put('k' * 32, b'TFL3 model', {'sidecar': {}}); "
            "assert cache.get('k' * 32) == (b'TFL3 model', {'sidecar': {}}); assert 'tensorflow' not in sys.modules")
    env = {**os.environ, "EDGEKIT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
