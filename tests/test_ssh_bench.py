"""edgekit bench --host and targets check against a real sshd on 127.0.0.1 (tests/sshd.py), with the "device"
a venv holding only numpy and ai-edge-litert (conftest's device_python). No mocks: ssh, scp and sshd are real.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import uuid
import venv

import pytest

from tests.conftest import DATA, ROOT, Run, assert_one_line_error
from tests.conftest import run_cli_process as run_cli
from tests.sshd import free_port

FAST = ["--runs", "5", "--min-seconds", "0.05", "--warmup", "1", "--rounds", "2", "--budget", "1"]
MODEL = str(DATA / "conv_head_int8.tflite")


def _bench(world, *args, db, env=None):
    return run_cli("bench", *args, "--db", str(db), "--json", env={**world.env(), **(env or {})}, timeout=120)


def _popen_bench(world, *args, db):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **world.env()}
    return subprocess.Popen([sys.executable, "-m", "edgekit", "bench", *args, "--db", str(db), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _rows(db) -> list[dict]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as con:
        try:
            return [json.loads(r[0]) for r in con.execute("SELECT doc FROM results ORDER BY id")]
        except sqlite3.OperationalError:  # not created yet
            return []


def _wait_for(predicate, proc, seconds: float = 60):
    """Poll ``predicate`` until it is true while ``proc`` (the edgekit run) is still going."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"edgekit ended first ({proc.returncode}): {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"not within {seconds} s: {proc.communicate()}")


def _finish(proc) -> Run:
    out, err = proc.communicate(timeout=90)
    return Run(proc.returncode, out, err)


@pytest.fixture
def numpy_only_python(device_python, tmp_path):
    """A Python with numpy and no TFLite runtime: a bare venv that sees only numpy from device_python's venv."""
    where = tmp_path / "numpy_only"
    venv.EnvBuilder(with_pip=False).create(where)
    site = next(device_python.parent.parent.glob("lib/python3*/site-packages"))
    view = tmp_path / "numpy_view"
    view.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith("numpy"):
            (view / entry.name).symlink_to(entry)
    next(where.glob("lib/python3*/site-packages")).joinpath("numpy_view.pth").write_text(str(view) + "\n")
    return where / "bin" / "python"


@pytest.mark.heavy  # several ssh rounds of real models: CI's heavy tier
def test_remote_results_have_the_local_shape_and_magnitude(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    args = [MODEL, "--runs", "200", "--min-seconds", "0.3", "--rounds", "3", "--budget", "5"]
    local = run_cli("bench", *args, "--target", "cpu", "--db", str(tmp_path / "local.db"), "--json")
    remote = _bench(ssh_world, *args, "--target", "auto", "--host", "dev-a", "--remote-python", str(device_python),
                    db=tmp_path / "r.db")
    assert local.code == 0 and remote.code == 0, (local.err, remote.err)
    (loc,), (rem,) = local.json(), remote.json()
    assert set(loc) <= set(rem), set(loc) - set(rem)
    assert set(loc["device"]) <= set(rem["device"]), set(loc["device"]) - set(rem["device"])
    assert rem["measured"] is True and rem["host"] == "dev-a"
    assert rem["target"] == platform.machine() and rem["emulated"] is False  # --target auto: what it is
    assert rem["backend"] == "ai_edge_litert" and rem["tf_imported"] is False
    for key in ("board", "cpu", "ram_gb", "os", "kernel", "cpu_temp_c", "throttled"):
        assert key in rem["device"]
    ratio = rem["latency_ms"]["p50"] / loc["latency_ms"]["p50"]
    print("local", loc["latency_ms"]["p50"], "remote", rem["latency_ms"]["p50"])
    assert 0.2 < ratio < 5, ratio
    stored = _rows(tmp_path / "r.db")
    assert [r["host"] for r in stored] == ["dev-a"] and stored[0]["measured"] is True
    # the "device" has no edgekit and no TensorFlow: the runner really is self-contained
    probe = subprocess.run([str(device_python), "-c", "import edgekit"], capture_output=True, cwd=tmp_path,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert probe.returncode != 0


def test_a_device_that_is_not_the_target_is_refused_before_measuring(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    run = _bench(ssh_world, MODEL, "--target", "rpi4", "--host", "dev-a", "--remote-python", str(device_python),
                 *FAST, db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=2)
    assert line.startswith(f"edgekit: error: dev-a is a generic {platform.machine()} (")
    assert line.endswith("not a Raspberry Pi 4 Model B; use --target auto to measure it as itself")
    assert _rows(tmp_path / "r.db") == []
    check = run_cli("targets", "check", "rpi4", "--host", "dev-a", "--remote-python", str(device_python),
                    env=ssh_world.env())
    assert f"WRONG   identity: is a generic {platform.machine()} (" in check.out
    assert assert_one_line_error(check, code=1).endswith("not a Raspberry Pi 4 Model B; use --target auto to "
                                                         "measure it as itself")


def test_check_outputs_agree_with_this_machine(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    run = _bench(ssh_world, str(DATA / "tiny_int8.tflite"), str(DATA / "tiny_fp32.tflite"), "--target", "auto",
                 "--host", "dev-a", "--remote-python", str(device_python), "--check-outputs", *FAST,
                 db=tmp_path / "r.db")
    assert run.code == 0, run.err
    int8, fp32 = (r["outputs_vs_local"] for r in run.json())
    assert int8["max_diff_steps"] == 0 and int8["top1_agree"] is True  # the same machine: the same bytes
    assert fp32["max_diff_steps"] is None and fp32["max_relative"] == 0.0 and fp32["top1_agree"] is True
    assert not any("outputs differ" in w for r in run.json() for w in r["warnings"])


def test_port_identity_flags_and_host_key_checking_stays_on(ssh_world, device_python, tmp_path):
    server = ssh_world.server("dev-a")
    flags = ["--port", str(server.port), "--identity", str(ssh_world.client_key)]
    host = f"{ssh_world.user}@127.0.0.1"
    ok = run_cli("targets", "check", "auto", "--host", host, *flags, "--remote-python", str(device_python),
                 "--ssh-config", str(ssh_world.plain_config()), "--json", env={"SSH_AUTH_SOCK": ""})
    assert ok.code == 0, ok.err
    assert ok.json()["ready"] is True and ok.json()["device"]["kernel"]
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    strange = ssh_world.plain_config(known_hosts=empty)
    refused = run_cli("targets", "check", "rpi4", "--host", host, *flags, "--ssh-config", str(strange),
                      env={"SSH_AUTH_SOCK": ""})
    assert "host key is not known" in assert_one_line_error(refused, code=1)
    insecure = run_cli("targets", "check", "auto", "--host", host, *flags, "--ssh-config", str(strange),
                       "--remote-python", str(device_python), "--insecure-no-host-key-check",
                       env={"SSH_AUTH_SOCK": ""})
    assert insecure.code == 0, insecure.err


def test_unreachable_host_answers_at_once(ssh_world, tmp_path):
    """A closed port is refused, not waited out: the answer is ssh's refusal, not its 10 s ConnectTimeout (a
    wall-clock bound here measured the machine's load as much as edgekit)."""
    run = _bench(ssh_world, MODEL, "--target", "rpi4", "--host", "127.0.0.1", "--port", str(free_port()),
                 db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=1)
    assert "127.0.0.1: connect failed: cannot connect" in line and "Connection refused" in line
    assert "timed out" not in line


def test_failed_authentication(ssh_world, tmp_path):
    server = ssh_world.server("dev-a")
    run = run_cli("bench", MODEL, "--target", "rpi4", "--host", "127.0.0.1", "--port", str(server.port),
                  "--identity", str(ssh_world.stranger_key), "--ssh-config", str(ssh_world.plain_config()),
                  "--db", str(tmp_path / "r.db"), env={"SSH_AUTH_SOCK": ""})
    line = assert_one_line_error(run, code=1)
    assert "connect failed: authentication failed (" in line and "ssh-copy-id" in line


def test_remote_python_without_a_tflite_runtime(ssh_world, numpy_only_python, tmp_path):
    ssh_world.server("dev-a")
    run = _bench(ssh_world, MODEL, "--target", "auto", "--host", "dev-a", "--remote-python", str(numpy_only_python),
                 *FAST, db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=1)
    assert "dev-a: run failed: a TFLite runtime (ai-edge-litert or tflite-runtime) is missing" in line
    assert "pip install numpy ai-edge-litert" in line
    check = run_cli("targets", "check", "auto", "--host", "dev-a", "--remote-python", str(numpy_only_python),
                    env=ssh_world.env())
    assert "MISSING tflite runtime" in check.out and "pip install numpy ai-edge-litert" in check.out
    assert "tflite runtime missing" in assert_one_line_error(check, code=1)


def test_coral_target_needs_libedgetpu_on_the_device(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    run = _bench(ssh_world, MODEL, "--target", "coral-usb", "--host", "dev-a", "--remote-python",
                 str(device_python), *FAST, db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=1)
    assert "the Edge TPU runtime (libedgetpu.so.1) is missing" in line and "apt-get install -y libedgetpu1-std" in line


def test_sshd_killed_mid_run_keeps_partial_results(ssh_world, device_python, tmp_path):
    server = ssh_world.server("dev-a")
    db = tmp_path / "r.db"
    proc = _popen_bench(ssh_world, MODEL, "--target", "auto", "--host", "dev-a", "--remote-python",
                        str(device_python), "--threads", "1,2", "--runs", "5", "--min-seconds", "3", "--rounds", "1",
                        "--budget", "3", db=db)
    _wait_for(lambda: len(_rows(db)) >= 1, proc)
    server.kill()
    run = _finish(proc)
    line = assert_one_line_error(run, code=1)
    assert "1 result(s) measured before it are kept" in line
    assert "dev-a: run failed" in line or "dev-a: fetch failed" in line  # fetch when the machine is very slow
    assert [r["threads"] for r in run.json()] == [1] and len(_rows(db)) == 1


def test_shell_metacharacters_are_never_executed(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    marker = f"/tmp/edgekit_pwned_{uuid.uuid4().hex}"
    odd = tmp_path / "a;touch pwned_dir;b" / "$(touch pwned_model)`touch pwned_tick`.tflite"
    odd.parent.mkdir()
    odd.write_bytes(open(MODEL, "rb").read())
    ok = _bench(ssh_world, str(odd), "--target", "auto", "--host", "dev-a", "--remote-python", str(device_python),
                *FAST, db=tmp_path / "r.db")
    assert ok.code == 0, ok.err
    host = _bench(ssh_world, MODEL, "--target", "rpi4", "--host", f"127.0.0.1;touch {marker}", db=tmp_path / "r.db")
    assert "is not a host" in assert_one_line_error(host, code=2)
    python = _bench(ssh_world, MODEL, "--target", "auto", "--host", "dev-a", "--remote-python",
                    f"{device_python}; touch {marker}", *FAST, db=tmp_path / "r.db")
    assert "was not found" in assert_one_line_error(python, code=1)
    assert not os.path.exists(marker)
    for where in (tmp_path, odd.parent, ROOT, os.path.expanduser("~")):
        assert not any(os.path.exists(os.path.join(where, n)) for n in ("pwned_dir", "pwned_model", "pwned_tick"))


@pytest.mark.heavy  # several ssh rounds of real models: CI's heavy tier
def test_fleet_runs_concurrently_and_one_dead_host_loses_only_its_results(ssh_world, device_python, tmp_path):
    a, b = ssh_world.server("dev-a"), ssh_world.server("dev-b")
    db = tmp_path / "r.db"
    hosts = tmp_path / "hosts"
    hosts.write_text("dev-b\n")
    proc = _popen_bench(ssh_world, MODEL, "--target", "auto", "--host", "dev-a", "--hosts", str(hosts),
                        "--remote-python", str(device_python), "--threads", "1,2", "--runs", "5",
                        "--min-seconds", "2", "--rounds", "1", "--budget", "2", db=db)

    def per_host():
        rows = _rows(db)
        return {h: sum(r["host"] == h for r in rows) for h in ("dev-a", "dev-b")}

    counts = _wait_for(lambda: min((c := per_host()).values()) >= 1 and c, proc)
    assert counts == {"dev-a": 1, "dev-b": 1}  # one host after the other, the first would have finished both
    b.kill()
    run = _finish(proc)
    line = assert_one_line_error(run, code=1)
    assert "1 of 2 hosts failed" in line and ("dev-b: run failed" in line or "dev-b: fetch failed" in line)
    doc = run.json()
    assert [(r["host"], r["threads"]) for r in doc["results"]] == [("dev-a", 1), ("dev-a", 2), ("dev-b", 1)]
    (failure,) = doc["failures"]
    assert failure["host"] == "dev-b" and failure["phase"] in ("run", "fetch") and failure["results_kept"] == 1
    agg = {r["threads"]: r for r in doc["aggregate"]}
    assert agg[1]["devices"] == 2 and agg[2]["devices"] == 1 and agg[1]["hosts"] == ["dev-a", "dev-b"]
    assert per_host() == {"dev-a": 2, "dev-b": 1}
    assert a.proc.poll() is None


def test_timeout_bounds_each_run_on_the_device(ssh_world, device_python, tmp_path):
    ssh_world.server("dev-a")
    run = _bench(ssh_world, MODEL, "--target", "auto", "--host", "dev-a", "--remote-python", str(device_python),
                 "--runs", "5", "--min-seconds", "30", "--rounds", "1", "--timeout", "1", db=tmp_path / "r.db")
    line = assert_one_line_error(run, code=1)
    assert "dev-a: run failed: the run took over 1 s; raise --timeout" in line
