"""scripts/gpu_check.sh run, on a copy of the repository with one small packed model: a step that runs past its
time limit fails with that reason and the next step runs, a run out of budget skips its steps and names them,
each step's seconds are kept, every step sees the caller's PYTHONPATH, and everything lands in one archive."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from tests.conftest import DATA, ROOT

IGNORE = shutil.ignore_patterns(".git", ".venv", ".whl", ".gpucheck", ".gl", "study", "gpu-check", "__pycache__",
                                ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The repository with .gpucheck/ holding tests/data/tiny_fp32.tflite, packed as `prepare` packs."""
    if shutil.which("timeout") is None:
        pytest.skip("no coreutils timeout on this machine")
    copy = tmp_path_factory.mktemp("gpucheck") / "repo"
    shutil.copytree(ROOT, copy, ignore=IGNORE)
    (copy / ".gpucheck").mkdir()
    subprocess.run([sys.executable, "-m", "bench.carry", "pack", str(DATA / "tiny_fp32.tflite"),
                    str(copy / ".gpucheck" / "tiny_fp32.tflite.gz")], check=True, cwd=copy,
                   env={**os.environ, "PYTHONPATH": str(copy)})
    return copy


def _run(repo, out, *args, env=None):
    env = {**os.environ, "PYTHONPATH": "/nonexistent/caller-path", **(env or {})}
    env.pop("OUT", None)
    return subprocess.run(["bash", "scripts/gpu_check.sh", "run", "--cpu-only", "--no-install", "--no-tests",
                           "--python", sys.executable, "--models", "tiny", "--backends", "", "--out", str(out), *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def _archive(out) -> dict[str, str]:
    assert [p.name for p in out.iterdir()] == ["gpu-check.tar.gz"]  # one file comes back, nothing else
    with tarfile.open(out / "gpu-check.tar.gz") as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}


def test_a_step_past_its_limit_fails_with_that_reason_and_the_next_runs(repo, tmp_path):
    run = _run(repo, tmp_path / "out", env={"LIMIT_LITERT_CPU": "1"})
    assert run.returncode == 1, run.stdout + run.stderr
    files = _archive(tmp_path / "out")
    assert {"results.json", "report.md", "steps.tsv", "run.log", "json/litert-cpu_tiny_fp32.json"} <= set(files)
    steps = {line.split("\t")[0]: line.split("\t")[1:] for line in files["steps.tsv"].splitlines()}
    assert steps["unpack tiny_fp32"][0] == "0" and float(steps["unpack tiny_fp32"][1]) > 0
    code, seconds, reason = steps["litert-cpu_tiny_fp32"]
    assert code == "124" and 1 <= float(seconds) < 10 and reason.startswith("timed out: still running after its "
                                                                            "limit of 1 s")
    assert steps["report"][0] == "0"  # the next step ran
    assert "- litert-cpu_tiny_fp32: timed out: still running after its limit of 1 s" in files["report.md"]
    assert "-- litert-cpu_tiny_fp32: exit 124 in " in files["run.log"]
    path_line = next(ln for ln in files["run.log"].splitlines() if ln.startswith("== PYTHONPATH"))
    assert path_line.endswith(f"{repo}:/nonexistent/caller-path")  # the repo first, then the caller's


def test_a_run_out_of_budget_skips_steps_and_names_them(repo, tmp_path):
    run = _run(repo, tmp_path / "out", "--budget", "10")
    assert run.returncode == 1, run.stdout + run.stderr
    files = _archive(tmp_path / "out")
    assert "- litert-cpu_tiny_fp32: skipped: no time left of the run's 10 s budget" in files["report.md"]
    assert "litert-cpu_tiny_fp32\t125\t0\tskipped: no time left" in files["steps.tsv"]
