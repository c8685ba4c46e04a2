"""The adb tier's phones: Debian's ``adbd`` on a loopback port (``ADBD_PORT``), as tests/sshd.py runs sshd.

Two kinds. ``native``: the amd64 adbd of this machine (/usr/lib/android-sdk/platform-tools/adbd). ``arm64``: the
arm64 adbd that scripts/arm64_userland.sh installs from bookworm-backports, run under qemu-user in the Debian arm64
userland (tests/arm64.py), so that ``adb shell uname -m`` says aarch64 as on a phone. In the userland the test's
folder and the fixtures are bind-mounted at the same paths as here, so both kinds read the same files.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "adb_fixture"
ADBD = "/usr/lib/android-sdk/platform-tools/adbd"


def double_script(kind: str) -> str:
    """The ``benchmark_model`` test double as the shell script pushed to the phone."""
    python = sys.executable if kind == "native" else "/opt/edgekit/bin/python"  # the userland's ai-edge-litert
    return f"#!/bin/sh\nexec {python} {FIXTURE / 'benchmark_model_double.py'} \"$@\"\n"


def argv(kind: str, root: Path | None, env: dict) -> tuple[list[str], dict]:
    """The command that starts one adbd, and its environment."""
    if kind == "native":
        return [ADBD], env
    inner = [f"{k}={v}" for k, v in env.items() if k in ("ADBD_PORT", "EDGEKIT_PHONE_PROFILE", "PYTHONPATH")
             or k.startswith("EDGEKIT_DOUBLE")]
    return ["chroot", str(root), "/usr/bin/env", "-i", f"PATH={FIXTURE}:/usr/bin:/bin", "HOME=/root", *inner,
            ADBD], {}


@contextlib.contextmanager
def bound(root: Path, *folders: Path):
    """``folders`` bind-mounted into the userland at their own paths; unmounted on the way out."""
    done = []
    try:
        for folder in folders:
            inside = root / str(folder).lstrip("/")
            inside.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", str(folder), str(inside)], check=True)
            done.append(inside)
        yield
    finally:
        for inside in reversed(done):
            if subprocess.run(["umount", str(inside)]).returncode != 0:
                subprocess.run(["umount", "-l", str(inside)])


def stop(daemon: subprocess.Popen) -> None:
    """adbd under qemu can take a while to exit on SIGTERM: then SIGKILL."""
    daemon.terminate()
    try:
        daemon.wait(10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait(10)
