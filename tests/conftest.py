"""Shared test helpers: run the CLI in this process (run_cli) or as a real subprocess (run_cli_process); the
TF-free device venv; sshd."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import traceback
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

# A runner that starts the suite in the background (nohup, or `&` in a script) leaves SIGINT ignored, and every
# process the tests start inherits that: Ctrl-C would never reach them, and the Ctrl-C tests would wait out their
# timeouts. Python's default, as under a terminal, is what edgekit's users have.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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
    """Run ``edgekit ARGS`` in this process, as ``python -m edgekit`` would, without starting Python again.

    ``edgekit.cli.main`` runs inside typer's ``CliRunner`` isolation: stdout and stderr are captured apart, ``env``
    is set for the call and ``cwd`` is the working folder; both are restored after. What only a fresh process
    shows (fd-level output, signals, imports, another venv) is for :func:`run_cli_process`. ``timeout`` is
    accepted for the same call shape and not enforced here.
    """
    from typer.testing import CliRunner

    from edgekit import tf_log
    from edgekit.cli import main

    keras = sys.modules.get("keras")
    if keras is not None:
        # a fresh process starts with Keras' name counters at zero; without the full gc.collect() that
        # clear_session() runs by default (0.2 s a call once TensorFlow is loaded, for every in-process CLI call)
        keras.backend.clear_session(free_memory=False)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_log = {k: v for k, v in vars(tf_log._State).items() if not k.startswith("__")}
    code = 1
    try:
        with CliRunner().isolation(env=env) as (out, err, _):
            if cwd is not None:
                os.chdir(cwd)
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except Exception:  # an escaped error: what a user would see as a traceback
                traceback.print_exc(file=sys.stderr)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            return Run(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for k, v in saved_log.items():
            setattr(tf_log._State, k, v)


def run_cli_process(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> Run:
    """Run ``python -m edgekit ARGS`` in a fresh process, as a user would: for what only a new process shows."""
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    full_env = {**os.environ, "PYTHONPATH": pythonpath, **(env or {})}
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


def _pip(python: Path) -> list[str]:
    return [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]


def source_copy(where: Path) -> Path:
    """A copy of the source tree without tests, caches and build outputs, so a build leaves nothing here."""
    src = where / "src"
    anywhere = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.tflite", ".*cache")

    def ignore(folder: str, names: list[str]) -> set[str]:  # "study" only at the top: edgekit/study is code
        top = {".git", ".venv", "tests", "build", "study"} if Path(folder) == ROOT else set()
        return set(anywhere(folder, names)) | (top & set(names))

    shutil.copytree(ROOT, src, ignore=ignore)
    return src


@pytest.fixture(scope="session")
def device_python(tmp_path_factory) -> Path:
    """A Raspberry Pi's Python: a venv with numpy and ai-edge-litert only, no TensorFlow, no edgekit.

    Built once per session (pip's wheel cache makes later sessions quick). The SSH tests pass it as
    --remote-python; tf_free_python adds edgekit beside it without installing it there.
    """
    where = tmp_path_factory.mktemp("device_venv")
    venv.EnvBuilder(with_pip=True).create(where)
    py = where / "bin" / "python"
    subprocess.run([*_pip(py), "numpy", "ai-edge-litert"], check=True, timeout=600)
    return py


@pytest.fixture(scope="session")
def tf_free_python(device_python, tmp_path_factory) -> Path:
    """device_python with edgekit (--no-deps) on its path, through a wrapper script that sets PYTHONPATH."""
    where = tmp_path_factory.mktemp("edgekit_no_deps")
    src = source_copy(where)  # a copy, so the build leaves nothing in the working tree
    lib = where / "lib"
    subprocess.run([*_pip(device_python), "--no-deps", "--target", str(lib), str(src)], check=True, timeout=600)
    wrapper = where / "python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(lib))} exec {shlex.quote(str(device_python))} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """edgekit's wheel, built once per session as ``pip wheel --no-deps`` builds it for a user."""
    from tests.arm64 import build_wheel  # the one builder: the arm64 tier installs the same wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def light_venv(wheel, tmp_path_factory) -> Path:
    """The light install as a user makes it: a fresh venv (no system site-packages), the wheel (not editable) and
    its core dependencies, no extras. Returns the venv's bin folder."""
    where = tmp_path_factory.mktemp("light_venv")
    venv.EnvBuilder(with_pip=True).create(where)
    subprocess.run([*_pip(where / "bin" / "python"), str(wheel)], check=True, timeout=600)
    return where / "bin"


@pytest.fixture
def ssh_world(tmp_path_factory):
    """A client key, known_hosts and ssh config; ``ssh_world.server(alias)`` starts an sshd. All stop after."""
    from tests.sshd import SshWorld, sshd_missing

    why = sshd_missing()
    if why:
        pytest.skip(why)
    world = SshWorld(tmp_path_factory.mktemp("ssh"))
    yield world
    world.stop()



def _busy_loops(nice: int):
    code = f"import os\nos.nice({nice})\nwhile True: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 2)]
    yield len(procs)
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def cpu_load():
    """A busy loop on every core for the test's duration: timing bugs show up under load, as on a shared CI box."""
    yield from _busy_loops(0)


@pytest.fixture
def background_load():
    """The same busy loops at the lowest priority: every core stays busy, yet the test's own processes still get
    the CPUs together when they want them, which a race between them needs."""
    yield from _busy_loops(19)
