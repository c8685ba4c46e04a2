"""``edgekit bench --target android --serial`` against a real adbd (Debian's ``adbd`` package on loopback with
ADBD_PORT, tests/adbd.py) and the real ``adb`` client. Each test runs twice: against this machine's adbd (``-m adb``)
and against the arm64 adbd in the Debian arm64 userland under qemu-user (``-m arm64``: the adb tier joins the ARM
tier).

Phone profiles are fixture ``getprop`` scripts (tests/adb_fixture/*.prop); ``benchmark_model`` is edgekit's test
double (tests/adb_fixture/benchmark_model_double.py), whose results are marked emulated. These tests prove device
selection, identity checks and the emulator and 32-bit refusals, push, run, parsing and clean-up of the phone's
directory; they do not prove that a real phone's binary accepts the flags, or any timing (docs/android.md).
The parser tests on verbatim output of the real tool run in the default tier (tests/test_benchmark_model.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import adbd
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.adb
FIXTURE = adbd.FIXTURE
TINY = Path(__file__).parent / "data" / "tiny_int8.tflite"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=["native", pytest.param("arm64", marks=pytest.mark.arm64)])
def phone_kind(request):
    """Where the phones' adbd runs: natively here, or (the arm64 tier) in the Debian arm64 userland under qemu."""
    if shutil.which("adb") is None or os.geteuid() != 0:
        pytest.fail("the adb tier needs root and Debian's adb (bookworm-backports); .ci/run installs it")
    if request.param == "native":
        if not Path(adbd.ADBD).exists():
            pytest.fail("the adb tier needs Debian's adbd (bookworm-backports); .ci/run installs it")
        yield "native", None
        return
    from tests import arm64

    why = arm64.missing()
    if why is not None:
        pytest.fail(why)
    where = arm64.cache_dir()
    with arm64._locked(where.with_suffix(".lock")):
        arm64._script("binfmt", timeout=60)
        if not where.exists():
            arm64._script("build", str(where), timeout=1800)
        arm64._script("mount", str(where), timeout=60)
        try:
            if not (where / adbd.ADBD.lstrip("/")).exists():
                pytest.fail(f"the userland {where.name} has no adbd; scripts/arm64_userland.sh build installs it")
            with adbd.bound(where, adbd.FIXTURE):
                yield "arm64", where
        finally:
            arm64._script("umount", str(where), timeout=60)


@pytest.fixture
def adb_env(tmp_path, monkeypatch, phone_kind):
    """A private adb server, and a function that starts one adbd per phone profile and connects it."""
    kind, root = phone_kind
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(_port()))
    monkeypatch.setattr("targets.android.DEVICE_TMP", str(tmp_path / "phone-tmp"))
    (tmp_path / "phone-tmp").mkdir()
    double = tmp_path / "benchmark_model"
    double.write_text(adbd.double_script(kind))
    double.chmod(0o755)
    # the double is a script, not an arm64 ELF: only here is the ABI check bypassed, by name
    monkeypatch.setattr("targets.adb.check_binary", lambda path, sha256=None: "test-double")
    daemons = []

    def start(profile: str, **extra: str) -> str:
        """One phone: an adbd with ``profile``'s getprop, and ``extra`` in its environment (the double's)."""
        port = _port()
        env = {**os.environ, "ADBD_PORT": str(port), "EDGEKIT_PHONE_PROFILE": str(FIXTURE / f"{profile}.prop"),
               "PATH": f"{FIXTURE}:{os.environ['PATH']}", "PYTHONPATH": str(Path(__file__).parents[1]), **extra}
        argv, env = adbd.argv(kind, root, env)
        daemons.append(subprocess.Popen(argv, env=env or None, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        serial = f"127.0.0.1:{port}"
        start.daemons[serial] = daemons[-1]
        for _ in range(300):
            out = subprocess.run(["adb", "connect", serial], capture_output=True, text=True).stdout
            if "connected to" in out and "cannot" not in out:
                break
            time.sleep(0.1)
        return serial

    start.daemons = {}  # serial -> its adbd, to unplug it
    context = adbd.bound(root, tmp_path) if root is not None else contextlib.nullcontext()
    with context:  # in the userland the test's folder is at the same path, so both kinds share these files
        yield start, double, tmp_path / "phone-tmp"
        subprocess.run(["adb", "kill-server"], capture_output=True)
        for d in daemons:
            adbd.stop(d)


def _bench_process(tmp_path, phone_tmp, *args: str) -> subprocess.Popen:
    """``edgekit bench ARGS`` in its own process (tests/_adb_cli.py), against this test's adb server."""
    env = {**os.environ, "EDGEKIT_TEST_DEVICE_TMP": str(phone_tmp), "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.Popen([sys.executable, "-m", "tests._adb_cli", "bench", str(TINY), "--db",
                             str(tmp_path / "r.db"), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])


def _wait_for_runs(log: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"edgekit bench ended before {n} runs: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} benchmark_model runs in {timeout:g} s")


def _phone_ls(serial: str, folder: Path) -> list[str]:
    out = subprocess.run(["adb", "-s", serial, "shell", f"ls -A {folder}"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out
    return out.stdout.split()


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


def test_a_phone_target_is_checked_against_the_phones_getprop(adb_env):
    start, double, phone_tmp = adb_env
    galaxy, pixel = start("galaxy"), start("pixel4")
    line = assert_one_line_error(run_cli("bench", str(TINY), "--target", "pixel4", "--serial", galaxy,
                                         "--benchmark-binary", str(double), "--rounds", "3"))
    assert f"{galaxy}: getprop says samsung SM-G973F (Exynos 9820), not pixel4" in line and "--target android" in line
    assert list(phone_tmp.iterdir()) == []
    run = run_cli("bench", str(TINY), "--target", "pixel4", "--serial", pixel, "--benchmark-binary", str(double),
                  "--rounds", "3", "--runs", "3", "--threads", "1", "--json")
    assert run.code == 0, run
    (doc,) = json.loads(run.out)
    assert doc["target"] == "pixel4" and doc["device"]["phone"] == "Google Pixel 4" and doc["emulated"] is True
    table = run_cli("bench", str(TINY), "--target", "pixel4", "--serial", pixel, "--benchmark-binary", str(double),
                    "--rounds", "3", "--runs", "3", "--threads", "1")
    assert table.code == 0, table
    assert f"{pixel}: Google Pixel 4 (msmnile, adb shell" in table.out
    assert "edgekit bench on Google Pixel 4" in table.out
    assert "emulated" in table.err  # the test double's results say so


def test_ctrl_c_mid_run_exits_130_keeps_the_finished_rounds_and_leaves_nothing_on_the_phone(adb_env, tmp_path):
    from bench.store import ResultStore

    start, double, phone_tmp = adb_env
    log = tmp_path / "runs.log"
    serial = start("pixel4", EDGEKIT_DOUBLE_LOG=str(log), EDGEKIT_DOUBLE_SLEEP_S="0.5")
    proc = _bench_process(tmp_path, phone_tmp, "--target", "android", "--serial", serial, "--benchmark-binary",
                          str(double), "--rounds", "6", "--runs", "2", "--warmup", "1", "--threads", "1,2", "--json")
    _wait_for_runs(log, 3, proc)  # each config has finished a round, the third run is under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "interrupted; 2 result(s) kept" in err, err
    kept = [r.to_dict() for r in ResultStore(tmp_path / "r.db").last(10)]
    assert sorted(r["threads"] for r in kept) == [1, 2]
    assert all(any(w.startswith("interrupted: ") for w in r["warnings"]) and r["emulated"] for r in kept)
    assert _phone_ls(serial, phone_tmp) == []  # `adb shell ls`: the phone's folder is gone, Ctrl-C included


def test_a_phone_unplugged_mid_run_fails_what_it_had_not_finished_and_the_fleet_keeps_the_rest(adb_env, tmp_path):
    start, double, phone_tmp = adb_env
    log = tmp_path / "runs.log"
    kept = start("pixel4", EDGEKIT_DOUBLE_SLEEP_S="0.2")
    pulled = start("pixel4", EDGEKIT_DOUBLE_LOG=str(log), EDGEKIT_DOUBLE_SLEEP_S="0.2")
    proc = _bench_process(tmp_path, phone_tmp, "--target", "android", "--serial", kept, "--serial", pulled,
                          "--benchmark-binary", str(double), "--rounds", "3", "--runs", "2", "--warmup", "1",
                          "--threads", "1,2", "--json")
    _wait_for_runs(log, 2, proc)
    start.daemons[pulled].kill()  # the cable is pulled
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err and f"{pulled}: the phone went away mid-run" in err.splitlines()[-1], err
    doc = json.loads(out)
    by_host = {h: [r for r in doc["results"] if r["host"] == h] for h in (kept, pulled)}
    assert [r["measured"] for r in by_host[kept]] == [True, True]  # the other phone's rows are kept
    assert by_host[pulled] and all("went away mid-run" in r["error"] for r in by_host[pulled])
    assert {r["threads"] for r in by_host[pulled]} == {1, 2}  # a failure row for each config not finished
    assert [f["host"] for f in doc["failures"]] == [pulled]
    assert len(list(phone_tmp.iterdir())) == 1  # the unplugged phone keeps its folder; the other's is gone


def test_the_study_measures_a_phone_target_given_its_serial(adb_env, tmp_path, monkeypatch):
    from bench.store import ResultStore
    from edgekit.study import collect, plan, report, summary
    from tests.test_study_phones import converter

    start, double, phone_tmp = adb_env
    serial = start("pixel4")
    monkeypatch.setattr(collect, "_convert", converter(tmp_path))
    study = plan.make_plan(models="mobilenetv2", quants="int8", targets="pixel4,pixel3", hosts=None, data=None,
                           threads=None, quick=True, out=tmp_path / "out", force=False, db=tmp_path / "r.db",
                           serials=[f"pixel4={serial}"], benchmark_binary=double)
    out = collect.collect(study, ResultStore(tmp_path / "r.db"), lambda cell, what: None, lambda _text: None)
    doc = summary.document(study, out, {}, 1.0)
    report.write(study.out, doc, False)
    measured, estimated = (r.to_dict() for r in doc["rows"])
    assert measured["measured"] and measured["host"] == serial and measured["emulated"] and measured["threads"] == 4
    assert measured["execution_context"] == "adb shell"
    assert not estimated["measured"] and estimated["target"] == "pixel3"
    md = (study.out / "report.md").read_text()
    assert f"| measured on {serial} (emulated: not a device's speed) |" in md
    assert f"- phone pixel4: measured in an adb shell on {serial} (Google Pixel 4, msmnile)" in md
    assert "- phone pixel3: estimated (Snapdragon 845" in md
    assert list(phone_tmp.iterdir()) == []


def test_delegate_gpu_reaches_the_phone_as_use_gpu(adb_env, tmp_path):
    start, double, phone_tmp = adb_env
    log = tmp_path / "runs.log"
    serial = start("pixel4", EDGEKIT_DOUBLE_LOG=str(log))
    line = assert_one_line_error(run_cli("bench", str(TINY), "--target", "android", "--serial", serial,
                                         "--benchmark-binary", str(double), "--delegate", "gpu", "--rounds", "3",
                                         "--threads", "2"))
    assert "has no GPU delegate" in line  # the binary's own message: a binary without GPU support refuses
    (argv,) = log.read_text().splitlines()
    assert "--use_gpu=true" in argv.split() and "--num_threads=2" in argv and "--use_xnnpack" not in argv
    assert list(phone_tmp.iterdir()) == []
