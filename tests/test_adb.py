"""``edgekit bench --target android --serial`` against a real adbd (Debian's ``adbd`` package, run natively on
loopback with ADBD_PORT; not in the arm64 userland yet) and the real ``adb`` client.

Phone profiles are fixture ``getprop`` scripts (tests/adb_fixture/*.prop); ``benchmark_model`` is edgekit's test
double (tests/adb_fixture/benchmark_model_double.py), whose results are marked emulated. These tests prove device
selection, identity checks and the emulator and 32-bit refusals, push, run, parsing and clean-up of the phone's
directory; they do not prove that a real phone's binary accepts the flags, or any timing (docs/android.md).
The parser tests on verbatim output of the real tool run in the default tier (tests/test_benchmark_model.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.adb
FIXTURE = Path(__file__).parent / "adb_fixture"
ADBD = "/usr/lib/android-sdk/platform-tools/adbd"
TINY = Path(__file__).parent / "data" / "tiny_int8.tflite"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def adb_env(tmp_path, monkeypatch):
    """A private adb server, and a function that starts one adbd per phone profile and connects it."""
    if shutil.which("adb") is None or not Path(ADBD).exists() or os.geteuid() != 0:
        pytest.fail("the adb tier needs root and Debian's adb and adbd (bookworm-backports); .ci/run installs them")
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(_port()))
    monkeypatch.setattr("targets.android.DEVICE_TMP", str(tmp_path / "phone-tmp"))
    (tmp_path / "phone-tmp").mkdir()
    double = tmp_path / "benchmark_model"
    double.write_text(f"#!/bin/sh\nexec {sys.executable} {FIXTURE / 'benchmark_model_double.py'} \"$@\"\n")
    double.chmod(0o755)
    # the double is a script, not an arm64 ELF: only here is the ABI check bypassed, by name
    monkeypatch.setattr("targets.android.check_binary", lambda path, sha256=None: "test-double")
    daemons = []

    def start(profile: str) -> str:
        port = _port()
        env = {**os.environ, "ADBD_PORT": str(port), "EDGEKIT_PHONE_PROFILE": str(FIXTURE / f"{profile}.prop"),
               "PATH": f"{FIXTURE}:{os.environ['PATH']}", "PYTHONPATH": str(Path(__file__).parents[1])}
        daemons.append(subprocess.Popen([ADBD], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        serial = f"127.0.0.1:{port}"
        for _ in range(50):
            out = subprocess.run(["adb", "connect", serial], capture_output=True, text=True).stdout
            if "connected to" in out and "cannot" not in out:
                break
            time.sleep(0.1)
        return serial

    yield start, double, tmp_path / "phone-tmp"
    subprocess.run(["adb", "kill-server"], capture_output=True)
    for d in daemons:
        d.terminate()
        d.wait(10)


def test_measures_a_phone_over_adb_marks_it_emulated_and_cleans_up(adb_env):
    start, double, phone_tmp = adb_env
    serial = start("pixel4")
    run = run_cli("bench", str(TINY), "--target", "android", "--serial", serial, "--benchmark-binary", str(double),
                  "--rounds", "3", "--runs", "5", "--warmup", "1", "--threads", "2", "--json")
    assert run.code == 0, run
    (doc,) = json.loads(run.out)
    assert doc["execution_context"] == "adb shell" and doc["emulated"] is True
    assert doc["device"]["phone"] == "Google Pixel 4" and doc["device"]["soc"] == "msmnile"
    assert doc["latency_ms"]["p50"] > 0 and doc["rounds"] >= 3 and doc["threads"] == 2
    assert "--num_threads=2" in doc["command"] and "--report_peak_memory_footprint=true" in doc["command"]
    assert doc["phone_records"]["before"]["battery_temp_c"] == 31.2
    assert any("emulated" in w for w in doc["warnings"])
    assert list(phone_tmp.iterdir()) == []  # the phone's directory is gone


@pytest.mark.parametrize(("profile", "words"), [("emulator", "emulator"), ("phone32", "32-bit")])
def test_refuses_an_emulator_and_a_32_bit_phone(adb_env, profile, words):
    start, double, phone_tmp = adb_env
    serial = start(profile)
    line = assert_one_line_error(run_cli("bench", str(TINY), "--target", "android", "--serial", serial,
                                         "--benchmark-binary", str(double), "--rounds", "3"))
    assert words in line and serial in line
    assert list(phone_tmp.iterdir()) == []


def test_several_phones_need_a_serial_and_all_measures_the_fleet(adb_env):
    start, double, _ = adb_env
    a, b = start("pixel4"), start("pixel4")
    line = assert_one_line_error(run_cli("bench", str(TINY), "--target", "android", "--benchmark-binary",
                                         str(double)))
    assert "several phones" in line and a in line and b in line
    run = run_cli("bench", str(TINY), "--target", "android", "--serial", "all", "--benchmark-binary", str(double),
                  "--rounds", "3", "--runs", "3", "--threads", "1", "--json")
    assert run.code == 0, run


def test_a_model_the_binary_rejects_is_one_line(adb_env, tmp_path):
    start, double, phone_tmp = adb_env
    serial = start("pixel4")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(TINY.read_bytes()[:200])
    line = assert_one_line_error(run_cli("bench", str(bad), "--target", "android", "--serial", serial,
                                         "--benchmark-binary", str(double), "--rounds", "3"))
    assert "edgekit: error:" in line
    assert list(phone_tmp.iterdir()) == []
