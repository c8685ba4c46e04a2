"""``--cluster`` and ``edgekit cluster`` without a cluster: Ray stays out of every other path, and bad input is
one line. The cluster itself is the ``cluster`` tier (tests/test_cluster.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import DATA, ROOT, assert_one_line_error, run_cli

RAY_LOADED = "print(json.dumps(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))))"


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


def test_importing_the_cli_imports_no_ray():
    proc = _python(f"import json, sys, edgekit.cli, edgekit.cli.study, edgekit.cli.cluster; {RAY_LOADED}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.heavy  # a whole bench in a fresh process (5 s); importing the CLI is checked above, by default
def test_a_normal_bench_imports_no_ray(tmp_path):
    code = (f"import json, sys; from edgekit.cli import main; rc = main(['bench', {str(DATA / 'tiny_fp32.tflite')!r},"
            f" '--runs', '2', '--rounds', '2', '--db', {str(tmp_path / 'r.db')!r}]); "
            f"assert rc == 0, rc; {RAY_LOADED}")
    proc = _python(code, {"EDGEKIT_BENCH_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_a_missing_cluster_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    run = run_cli("study", "--models", "lenet5", "--targets", "rpi4", "--quick", "--out", str(tmp_path / "o"),
                  "--cluster", "127.0.0.1:6379")
    line = assert_one_line_error(run, 2)
    assert "edgekit[cluster]" in line


def test_join_without_the_cluster_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    hosts = tmp_path / "lab-hosts.txt"
    hosts.write_text("rpi4 pi@a\n")
    line = assert_one_line_error(run_cli("cluster", "join", "127.0.0.1:6379", "--hosts", str(hosts)), 2)
    assert "edgekit[cluster]" in line


@pytest.mark.parametrize(("address", "says"), [("nowhere", "HOST:PORT"), ("ray://head:10001", "ray://")])
def test_a_bad_address_is_one_line(tmp_path, address, says):
    run = run_cli("study", "--models", "lenet5", "--quick", "--out", str(tmp_path / "o"), "--cluster", address)
    assert says in assert_one_line_error(run, 2)


@pytest.mark.parametrize(("text", "says"), [("rpi9 pi@a\n", "unknown target 'rpi9'"),
                                            ("cpu pi@a\n", "not a device"),
                                            ("rpi4\n", "TARGET HOST"),
                                            ("rpi4 pi@a\nrpi5 pi@a\n", "named twice"),
                                            ("# nothing\n", "names no device")])
def test_a_bad_lab_hosts_file_is_one_line(tmp_path, text, says):
    hosts = tmp_path / "lab-hosts.txt"
    hosts.write_text(text)
    run = run_cli("cluster", "join", "127.0.0.1:6379", "--hosts", str(hosts))
    assert says in assert_one_line_error(run, 2)


def test_join_advertises_one_resource_per_device_with_its_kind(tmp_path):
    from edgekit.app.cluster_join import join_argv, read_lab_hosts

    hosts = tmp_path / "lab-hosts.txt"
    hosts.write_text("# the bench by the window\nrpi4 pi@pi-1.lab\nrpi5 pi@pi-2.lab  # new\n")
    devices = read_lab_hosts(hosts)
    assert devices == [("rpi4", "pi@pi-1.lab"), ("rpi5", "pi@pi-2.lab")]
    argv = join_argv("10.0.0.5:6379", devices, convert=False, ray_bin="ray")
    resources = json.loads(argv[argv.index("--resources") + 1])
    assert resources == {"device:rpi4/pi@pi-1.lab": 1, "device:rpi5/pi@pi-2.lab": 1}
    with_convert = join_argv("10.0.0.5:6379", devices, convert=True, ray_bin="ray")
    assert json.loads(with_convert[with_convert.index("--resources") + 1])["edgekit-convert"] == 1


@pytest.mark.parametrize(("args", "says"), [(("--target", "cpu"), "not 'cpu'"),
                                            (("--target", "rpi4", "--host", "pi@a"), "--host/--hosts"),
                                            (("--target", "rpi4", "--estimate"), "--estimate")])
def test_bench_cluster_refuses_what_it_cannot_do_in_one_line(tmp_path, args, says):
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), *args, "--cluster", "127.0.0.1:1",
                  "--db", str(tmp_path / "r.db"))
    assert says in assert_one_line_error(run, 2)


def test_bench_cluster_without_the_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    run = run_cli("bench", str(DATA / "tiny_fp32.tflite"), "--target", "rpi4", "--cluster", "127.0.0.1:6379",
                  "--db", str(tmp_path / "r.db"))
    assert "edgekit[cluster]" in assert_one_line_error(run, 2)
