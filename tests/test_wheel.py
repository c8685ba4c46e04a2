"""The package as users install it: the wheel (not an editable install) in a fresh venv with the core
dependencies only (numpy, typer, rich, ai-edge-litert), no extras.

- Every file the code opens relative to its own module ships in the wheel.
- The light install's commands work: info, bench (here, and the estimates for rpi4, rpi5, coral-usb,
  coral-devboard), check, targets, results, models, and edgekit.runtime.load(...).classify(...).
- Every command that needs an extra fails with one line naming it (pip install 'edgekit[EXTRA]') and exit 2,
  never a traceback; a zoo name included.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT, Run, assert_one_line_error

PACKAGES = ("edgekit", "bench", "targets", "converters")
# Module-level paths built from __file__ that point outside the installed packages on purpose.
NOT_DATA = {
    "REPO": "the folder above the packages, put on PYTHONPATH for child processes; site-packages once installed",
    "DOC": "targets.fit rewrites docs/estimates.md in a source checkout: a developer tool, not run by users",
}


def _paths_from_file() -> list[tuple[str, str]]:
    """(module, name) of every module-level assignment whose value is built from ``__file__``, or from a name
    built from it earlier in the module (``ROWS_FILE = DATA / "published_rows.json"``)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            derived = {"__file__"}
            for node in ast.parse(path.read_text()).body:
                if not isinstance(node, ast.Assign):
                    continue
                used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                if used & derived or "__file__" in ast.unparse(node.value):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    derived.update(names)
                    found += [(module, name) for name in names]
    return found


def test_the_wheel_holds_every_file_the_code_opens(wheel, light_venv):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert "targets/data/expected_error.json" in data
    assert sorted(set(data) - names) == []  # every data file in the packages ships
    opened = [(m, n) for m, n in _paths_from_file() if n not in NOT_DATA]
    assert ("targets.estimate", "EXPECTED_FILE") in opened and ("targets.published", "ROWS_FILE") in opened
    probe = ("import importlib, json, sys\nfrom pathlib import Path\nout = {}\n"
             "for module, name in json.loads(sys.argv[1]):\n"
             "    value = getattr(importlib.import_module(module), name)\n"
             "    paths = value if isinstance(value, (tuple, list)) else (value,)\n"
             "    out[module + '.' + name] = [(str(p), Path(p).exists()) for p in paths]\n"
             "print(json.dumps(out))\n")
    proc = subprocess.run([str(light_venv / "python"), "-c", probe, json.dumps(opened)], capture_output=True,
                          text=True, check=True, cwd="/", env=_user_env(Path("/nonexistent")))
    for name, paths in json.loads(proc.stdout).items():
        for path, exists in paths:
            assert "site-packages" in path and exists, (name, path)  # the installed copy, not the checkout


def _user_env(home: Path) -> dict:
    """A user's environment: nothing points at the source checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HOME": str(home), "COLUMNS": "200"}  # wide enough that rich truncates no name


def _edgekit(light_venv: Path, *args: str, cwd: Path) -> Run:
    proc = subprocess.run([str(light_venv / "edgekit"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_user_env(cwd), timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def here(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("light_user")
    shutil.copy(DATA / "tiny_int8.tflite", where / "m.tflite")
    (where / "user.keras").write_bytes(b"PK")  # never opened: the missing extra is said first
    return where


WORKS = [
    (["info", "m.tflite"], "MACs"),
    (["bench", "m.tflite", "--rounds", "1", "--min-seconds", "0.05"], "saved 1 result"),
    (["check", "m.tflite", "--target", "coral-usb"], "compatible"),
    (["targets"], "coral-devboard"),
    (["results"], ""),
    (["models"], "mobilenetv2"),
] + [(["bench", "m.tflite", "--target", t], "est.") for t in ("rpi4", "rpi5", "coral-usb", "coral-devboard")]

NEEDS_EXTRA = [
    (["models", "--json"], None),  # not an extra: the zoo table is data (checked below)
    (["info", "mobilenetv2"], "convert"),
    (["info", "user.keras"], "convert"),
    (["convert", "mobilenetv2", "--int8"], "convert"),
    (["bench", "mobilenetv2"], "convert"),
    (["bench", "mobilenetv2", "--target", "rpi4"], "convert"),
    (["check", "mobilenetv2", "--target", "coral-usb"], "convert"),
    (["eval", "lenet5", "--data", "digits"], "convert"),
    (["eval", "m.tflite", "--data", "digits"], "convert"),
    (["train", "lenet5", "--data", "digits", "-o", "x.keras"], "convert"),
    (["check", "m.tflite", "--target", "cortex-m7"], "mcu"),
    (["bench", "m.tflite", "--target", "cortex-m4"], "mcu"),
    (["study", "--out", "study"], "convert"),  # its zoo models are checked first; then [plot] for its plots
]


@pytest.mark.parametrize(("args", "expect"), WORKS, ids=[" ".join(a) for a, _ in WORKS])
def test_the_light_install_works(light_venv, here, args, expect):
    run = _edgekit(light_venv, *args, cwd=here)
    assert run.code == 0, run.err
    assert expect in run.out + run.err and "Traceback" not in run.err


@pytest.mark.parametrize(("args", "extra"), NEEDS_EXTRA, ids=[" ".join(a) for a, _ in NEEDS_EXTRA])
def test_a_missing_extra_is_one_line_and_exit_2(light_venv, here, args, extra):
    run = _edgekit(light_venv, *args, cwd=here)
    if extra is None:
        rows = run.json()
        assert run.code == 0 and rows[-1]["name"] == "mobilenetv2" and rows[-1]["published_top1_pct"] == 71.3
        return
    line = assert_one_line_error(run, 2)
    assert line.endswith(f"pip install 'edgekit[{extra}]'"), line
    assert not (here / "x.keras").exists() and not (here / "study").exists()


def test_the_runtime_classifies_without_extras(light_venv, here):
    code = ("import numpy as np, edgekit.runtime as rt, importlib.util as u\n"
            "m = rt.load('m.tflite')\n"
            "top = m.classify(np.random.default_rng(0).random((16, 16, 3), dtype=np.float32), top_k=2)\n"
            "print(len(top), top[0].score >= top[1].score, [u.find_spec(n) is None for n in "
            "('tensorflow', 'keras', 'matplotlib', 'sklearn')])\n")
    proc = subprocess.run([str(light_venv / "python"), "-c", code], capture_output=True, text=True, cwd=here,
                          env=_user_env(here), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "2 True [True, True, True, True]"
