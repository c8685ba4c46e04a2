"""The ARM64 device of the tests: a Debian arm64 userland run under qemu-user, with its own sshd on a loopback
port (``tests.sshd`` with ``chroot=``). ``scripts/arm64_userland.sh`` builds it (the same commands by hand).

Built once and cached in ``$EDGEKIT_TEST_CACHE`` (default ``~/.cache/edgekit-tests``) under ``arm64-<key>``,
where the key is ``VERSION`` plus a hash of the script, so a changed recipe builds a new one. Each session
installs this checkout's edgekit wheel into the userland's venv (``/opt/edgekit``), mounts /proc and /dev
(never /sys) and unmounts them at the end. It needs root, debootstrap and qemu-user-static; where binfmt_misc
cannot be registered the tests fail with the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "arm64_userland.sh"
VERSION = "bookworm-1"
PYTHON = "/opt/edgekit/bin/python"  # inside the userland: numpy, typer, rich, ai-edge-litert and edgekit
NUMPY_ONLY = "/opt/numpy-only/bin/python"  # numpy and no TFLite runtime


def cache_dir() -> Path:
    base = Path(os.environ.get("EDGEKIT_TEST_CACHE") or Path.home() / ".cache" / "edgekit-tests")
    key = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:10]
    return base / f"arm64-{VERSION}-{key}"


def missing() -> str | None:
    """Why this machine cannot run the arm64 userland, or None."""
    if os.geteuid() != 0:
        return "the arm64 tests need root (chroot, mount, binfmt_misc)"
    for tool, package in (("debootstrap", "debootstrap"), ("qemu-aarch64-static", "qemu-user-static"),
                          ("chroot", "coreutils")):
        if shutil.which(tool) is None:
            return f"{tool} is missing: apt-get install {package} (.ci/run does)"
    return None


def _script(*args: str, timeout: float) -> None:
    proc = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"arm64_userland.sh {args[0]} failed ({proc.returncode}): "
                           f"{(proc.stderr.strip() or proc.stdout.strip())[-2000:]}")


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_wheel(out: Path) -> Path:
    """This checkout as a wheel (pure Python, built here)."""
    from tests.conftest import source_copy  # the copy test_wheel builds from: edgekit/study and targets/data kept

    src = source_copy(out)
    argv = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out / "dist"), str(src)]
    # offline with this venv's setuptools and wheel; without them pip fetches the build backend itself
    if subprocess.run([*argv, "--no-build-isolation"], capture_output=True, timeout=300).returncode != 0:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"could not build the edgekit wheel: {proc.stderr.strip()[-2000:]}")
    return next((out / "dist").glob("edgekit-*.whl"))


@contextmanager
def userland():
    """The userland, built if needed, with this checkout's edgekit installed and /proc, /dev mounted.

    Yields ``(path, timings)``; timings says how long building and installing took, in seconds.
    """
    where = cache_dir()
    timings = {}
    with _locked(where.with_suffix(".lock")):
        _script("binfmt", timeout=60)
        if not where.exists():
            t0 = time.monotonic()
            _script("build", str(where), timeout=1800)
            timings["build_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        _script("mount", str(where), timeout=60)
        try:
            with tempfile.TemporaryDirectory(prefix="edgekit-wheel-") as tmp:
                _script("install", str(where), str(build_wheel(Path(tmp))), timeout=600)
            timings["install_s"] = round(time.monotonic() - t0, 1)
            yield where, timings
        finally:
            _script("umount", str(where), timeout=60)
