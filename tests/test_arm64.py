"""A real ARM64 userland as the device (issue 13): Debian arm64 under qemu-user with its own sshd on a loopback
port (tests/arm64.py). Its own tier, ``pytest -m arm64`` (.ci/run runs it); the first run builds the userland
(minutes), later runs reuse it. A machine that cannot run it fails these tests with the reason, never skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest

from tests import arm64
from tests.conftest import DATA, Run, assert_one_line_error
from tests.conftest import run_cli_process as run_cli
from tests.sshd import SshWorld, free_port
from tests.test_ssh_bench import _finish, _popen_bench, _rows, _wait_for

pytestmark = pytest.mark.arm64
FAST = ["--runs", "3", "--min-seconds", "0", "--warmup", "1", "--timeout", "300"]
MODEL = str(DATA / "tiny_int8.tflite")


@pytest.fixture(scope="module")
def userland():
    why = arm64.missing()
    if why:
        pytest.fail(f"the arm64 tier cannot run here: {why}")
    t0 = time.monotonic()
    try:
        with arm64.userland() as (where, timings):
            print(f"arm64 userland {where}: {timings}, ready after {time.monotonic() - t0:.0f} s")
            yield where
    except RuntimeError as err:  # binfmt_misc not registrable, debootstrap or pip failing: say why
        pytest.fail(f"the arm64 userland could not be set up: {err}")


@pytest.fixture(scope="module")
def world(userland, tmp_path_factory):
    world = SshWorld(tmp_path_factory.mktemp("arm64_ssh"))
    world.server("arm", chroot=userland)
    yield world
    world.stop()


def _bench(world, *args, db) -> Run:
    return run_cli("bench", *args, "--db", str(db), "--json", env=world.env(), timeout=600)


def _in_userland(userland, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", str(userland), "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=/root",
                           *argv], capture_output=True, text=True, timeout=timeout)


def test_the_light_install_runs_a_model_on_aarch64(userland):
    work = userland / "tmp" / "edgekit-light"
    work.mkdir(exist_ok=True)
    shutil.copy(DATA / "tiny_fp32.tflite", work / "m.tflite")
    script = ("import json, platform, sys, numpy as np, edgekit.runtime as rt\n"
              "m = rt.load('/tmp/edgekit-light/m.tflite', threads=1)\n"
              "x = np.linspace(-1, 1, int(np.prod(m.input_details()[0]['shape']))).astype(np.float32)\n"
              "y = m.predict(x.reshape(m.input_details()[0]['shape']))\n"
              "top = m.classify(x.reshape(m.input_details()[0]['shape']), top_k=2)\n"
              "print(json.dumps({'machine': platform.machine(), 'y': np.asarray(y).ravel().tolist(),"
              " 'top': [p.label for p in top], 'tf': 'tensorflow' in sys.modules}))\n")
    proc = _in_userland(userland, arm64.PYTHON, "-c", script)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["machine"] == "aarch64" and doc["tf"] is False and len(doc["top"]) == 2
    from edgekit.runtime import load

    here = load(DATA / "tiny_fp32.tflite", threads=1)
    shape = here.input_details()[0]["shape"]
    want = np.asarray(here.predict(np.linspace(-1, 1, int(np.prod(shape))).astype(np.float32).reshape(shape)))
    np.testing.assert_allclose(doc["y"], want.ravel(), rtol=1e-4, atol=1e-5)
    cli = _in_userland(userland, "/opt/edgekit/bin/edgekit", "--help")
    assert cli.returncode == 0 and "bench" in cli.stdout, cli.stderr


def test_the_light_install_estimates_on_aarch64(userland):
    """The wheel's light install on the device runs the estimator commands too (issue 25): bench's estimates for
    each Pi and Coral target, info, check and models; a zoo name says which extra it needs, in one line."""
    work = userland / "tmp" / "edgekit-light"
    work.mkdir(exist_ok=True)
    shutil.copy(DATA / "tiny_int8.tflite", work / "m8.tflite")
    model = "/tmp/edgekit-light/m8.tflite"
    for target in ("rpi4", "rpi5", "coral-usb", "coral-devboard"):
        proc = _in_userland(userland, "/opt/edgekit/bin/edgekit", "bench", model, "--target", target, "--json",
                            "--db", "/tmp/edgekit-light/r.db")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (target, proc.stderr)
        (doc,) = json.loads(proc.stdout)
        assert doc["target"] == target and doc["measured"] is False and doc["latency_ms"]["p50"] > 0, doc
    for argv, expect in ((["info", model], "MACs"), (["check", model, "--target", "coral-usb"], "compatible"),
                         (["models"], "mobilenetv2")):
        proc = _in_userland(userland, "/usr/bin/env", "COLUMNS=200", "/opt/edgekit/bin/edgekit", *argv)
        assert proc.returncode == 0 and expect in proc.stdout and "Traceback" not in proc.stderr, (argv, proc.stderr)
    proc = _in_userland(userland, "/opt/edgekit/bin/edgekit", "info", "mobilenetv2")
    line = assert_one_line_error(Run(proc.returncode, proc.stdout, proc.stderr), code=2)
    assert line.endswith("pip install 'edgekit[convert]'")


def test_rpi4_is_refused_on_the_emulated_host(world, tmp_path):
    run = _bench(world, MODEL, "--target", "rpi4", "--host", "arm", "--remote-python", arm64.PYTHON, *FAST,
                 db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=2)
    assert line == ("edgekit: error: arm is a generic aarch64 (emulated under qemu), not a Raspberry Pi 4 Model B; "
                    "use --target auto to measure it as itself")
    assert _rows(tmp_path / "r.db") == []  # refused before anything was measured
    check = run_cli("targets", "check", "rpi4", "--host", "arm", "--remote-python", arm64.PYTHON, env=world.env())
    assert "WRONG   identity: is a generic aarch64 (emulated under qemu), not a Raspberry Pi 4" in check.out
    assert assert_one_line_error(check, code=1) == (
        "edgekit: error: arm is a generic aarch64 (emulated under qemu), not a Raspberry Pi 4 Model B; use "
        "--target auto to measure it as itself")


def test_auto_measures_and_records_aarch64_emulated_and_check_outputs_agree(world, tmp_path):
    db = tmp_path / "r.db"
    run = _bench(world, MODEL, str(DATA / "tiny_fp32.tflite"), "--target", "auto", "--host", "arm",
                 "--remote-python", arm64.PYTHON, "--check-outputs", *FAST, db=db)
    assert run.code == 0, run.err
    int8, fp32 = run.json()
    for doc in (int8, fp32):
        assert doc["target"] == "aarch64" and doc["emulated"] is True and doc["measured"] is True
        assert doc["device"]["machine"] == "aarch64" and doc["device"]["identity"]["emulator"] == "qemu-user"
        assert doc["device"]["isa"] == []  # not the x86 host's flags
        assert any(w.startswith("emulated: this aarch64 userland runs under qemu-user") for w in doc["warnings"])
    assert "emulated: this aarch64 userland" in run.err  # the warning is shown, not only stored
    print("int8", int8["outputs_vs_local"], "fp32", fp32["outputs_vs_local"])
    assert int8["outputs_vs_local"]["max_diff_steps"] <= 1 and int8["outputs_vs_local"]["top1_agree"] is True
    assert fp32["outputs_vs_local"]["max_relative"] <= 1e-4 and fp32["outputs_vs_local"]["top1_agree"] is True
    stored = run_cli("results", "--db", str(db), "--json").json()
    assert {(r["target"], r["emulated"]) for r in stored} == {("aarch64", True)}


def test_closed_port_on_the_arm_host(world, tmp_path):
    run = _bench(world, MODEL, "--target", "auto", "--host", "127.0.0.1", "--port", str(free_port()),
                 "--remote-python", arm64.PYTHON, db=tmp_path / "r.db")
    assert "127.0.0.1: connect failed: cannot connect" in assert_one_line_error(run, code=1)


def test_missing_runtime_on_the_arm_host(world, tmp_path):
    run = _bench(world, MODEL, "--target", "auto", "--host", "arm", "--remote-python", arm64.NUMPY_ONLY, *FAST,
                 db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=1)
    assert "arm: run failed: a TFLite runtime (ai-edge-litert or tflite-runtime) is missing" in line
    assert "pip install numpy ai-edge-litert" in line


def test_dropped_connection_keeps_what_was_measured(userland, tmp_path):
    world = SshWorld(tmp_path / "ssh")
    server = world.server("arm-drop", chroot=userland)
    db = tmp_path / "r.db"
    try:
        proc = _popen_bench(world, MODEL, "--target", "auto", "--host", "arm-drop", "--remote-python",
                            arm64.PYTHON, "--threads", "1,2", "--runs", "3", "--min-seconds", "20", "--warmup", "0",
                            db=db)
        _wait_for(lambda: len(_rows(db)) >= 1, proc, seconds=300)
        server.kill()  # while the second configuration runs (20 s at least)
        run = _finish(proc)
        line = assert_one_line_error(run, code=1)
        assert "1 result(s) measured before it are kept" in line
        assert "arm-drop: run failed" in line or "arm-drop: fetch failed" in line
        assert [(r["threads"], r["target"]) for r in run.json()] == [(1, "aarch64")] and len(_rows(db)) == 1
    finally:
        world.stop()
