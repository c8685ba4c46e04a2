"""A corrupt or truncated .tflite never kills the process: it becomes a ModelFileError."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgekit.errors import ModelFileError
from edgekit.runtime import load
from tests.conftest import DATA, ROOT

_FUZZ = """
import random, sys
from pathlib import Path
from edgekit.errors import EdgekitError
from edgekit.runtime import load
good = Path(sys.argv[1]).read_bytes()
out = Path(sys.argv[2])
rng = random.Random(0)
cases = [good[:n] for n in range(0, len(good), max(1, len(good) // 60))]
for _ in range(150):
    b = bytearray(good)
    for _ in range(rng.randint(1, 4)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    cases.append(bytes(b))
errors = loaded = 0
for i, case in enumerate(cases):
    out.write_bytes(case)
    try:
        load(out, threads=1).interpreter.invoke()
        loaded += 1
    except EdgekitError:
        errors += 1
print(len(cases), errors, loaded)
"""


@pytest.mark.parametrize("cut", [0, 7, 100, 1000, -1])
def test_truncated_file_is_a_model_file_error(tmp_path, cut):
    good = (DATA / "tiny_int8.tflite").read_bytes()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(good[:cut])
    with pytest.raises(ModelFileError, match=r"bad\.tflite"):
        load(bad)


def test_not_a_model_and_missing_file(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 4 + b"TFL3" + b"\xff" * 200)
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load(junk)
    with pytest.raises(ModelFileError, match="not found"):
        load(tmp_path / "nope.tflite")


def test_fuzzed_files_never_kill_the_process(tmp_path):
    """Hundreds of truncations and byte flips, loaded and run in a child: it must exit normally."""
    proc = subprocess.run([sys.executable, "-c", _FUZZ, str(DATA / "tiny_int8.tflite"), str(tmp_path / "f.tflite")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    total, errors, loaded = map(int, proc.stdout.split())
    assert total == errors + loaded and errors > 50
