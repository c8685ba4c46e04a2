"""Shared test helpers: run the CLI in-process or as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> Run:
    """Run ``python -m edgekit ARGS`` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(run: Run, code: int | None = None) -> str:
    """A user error: non-zero exit, no traceback, one ``edgekit: error:`` line on stderr."""
    assert run.code != 0, run
    if code is not None:
        assert run.code == code, run
    assert "Traceback" not in run.err, run.err
    lines = [line for line in run.err.splitlines() if line.startswith("edgekit: error:")]
    assert len(lines) == 1, run.err
    return lines[0]


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, or skip: the fast tier runs without it."""
    return pytest.importorskip("tensorflow")
