"""The SSH pieces without a server: host checks, ssh/scp argv, the device runner's imports, fleet aggregates."""

from __future__ import annotations

import ast
import sys

import pytest

from edgekit.errors import UsageError
from targets.fleet import aggregate, read_hosts_file
from targets.remote import RUNNER_FILES, RemoteConfig
from targets.ssh import SshOptions, parse_host, scp_put_argv, shell_line, ssh_argv
from tests.conftest import DATA, assert_one_line_error


@pytest.mark.parametrize("text", ["pi@raspberrypi.local", "raspberrypi", "10.0.0.7", "my_pi", "pi@[fe80::1]",
                                  "::1", "pi-4b.lan"])
def test_hosts_accepted(text):
    assert parse_host(text).text == text


@pytest.mark.parametrize("text", ["127.0.0.1;touch /tmp/x", "-oProxyCommand=touch /tmp/x", "$(id)", "a b", "pi@",
                                  "`id`", "host|cat", "pi@host&", ""])
def test_hosts_refused(text):
    with pytest.raises(UsageError, match="is not a host"):
        parse_host(text)


def test_ssh_argv_batch_mode_connect_timeout_and_double_dash():
    argv = ssh_argv(parse_host("pi@pi4"), "true", SshOptions(port=2222, identity=str(DATA / "tiny_fp32.tflite")))
    assert argv[0] == "ssh" and argv[-3:] == ["--", "pi@pi4", "true"]
    assert "BatchMode=yes" in argv and "ConnectTimeout=10" in argv and argv[argv.index("-p") + 1] == "2222"
    assert not any("StrictHostKeyChecking" in a for a in argv)  # never turned off on its own
    insecure = ssh_argv(parse_host("pi4"), "true", SshOptions(insecure_no_host_key_check=True))
    assert "StrictHostKeyChecking=no" in insecure


def test_scp_argv_sources_after_double_dash_and_ipv6_brackets():
    argv = scp_put_argv(parse_host("pi@fe80::1"), ["-rf", "a.tflite"], "/tmp/edgekit.x", SshOptions(port=22))
    assert argv[argv.index("--") + 1:] == ["-rf", "a.tflite", "pi@[fe80::1]:/tmp/edgekit.x/"]
    assert argv[argv.index("-P") + 1] == "22"


def test_remote_command_quotes_every_word_and_never_carries_the_model_name():
    cfg = RemoteConfig("/home/u/$(touch x)/m;rm -rf ~.tflite", 2, 5, 0.5, 1, True, "edgetpu")
    words = cfg.argv("model-0.tflite", "result-0.json", 60)
    assert "model-0.tflite" in words and not any("touch" in w for w in words)
    assert shell_line("/opt/py; touch x", "-") == "'/opt/py; touch x' -"
    assert shell_line("~/venv/bin/python") == '"$HOME"/venv/bin/python'


def test_options_check_port_and_files():
    with pytest.raises(UsageError, match="--port must be 1 to 65535"):
        SshOptions(port=70000)
    with pytest.raises(UsageError, match="--identity '/nope/key' is not a file"):
        SshOptions(identity="/nope/key")


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_device_runner_imports_only_stdlib_numpy_and_a_tflite_runtime():
    siblings = {p.stem for p in RUNNER_FILES}
    allowed = set(sys.stdlib_module_names) | {"numpy", "ai_edge_litert", "tflite_runtime"} | siblings
    for path in RUNNER_FILES:
        assert _imports(path) <= allowed, (path, _imports(path) - allowed)


def test_hosts_file(tmp_path):
    f = tmp_path / "hosts"
    f.write_text("# lab\npi@a.local\n\n b.local  # spare\n")
    assert read_hosts_file(str(f)) == ["pi@a.local", "b.local"]
    f.write_text("# nothing\n")
    with pytest.raises(UsageError, match="names no host"):
        read_hosts_file(str(f))


def test_aggregate_median_and_spread():
    from edgekit.result import Result

    def doc(host, p50, threads=1):
        return Result.from_dict({"target": "rpi4", "model": "m", "quant": "int8", "threads": threads, "xnnpack": True,
                                 "delegate": None, "host": host, "latency_ms": {"p50": p50}})

    rows = aggregate([doc("a", 10.0), doc("b", 12.0), doc("c", 20.0), doc("a", 6.0, threads=2)])
    one = next(r for r in rows if r["threads"] == 1)
    assert one["devices"] == 3 and one["median_p50_ms"] == 12.0 and one["spread"] == pytest.approx(10 / 12, 1e-3)
    assert one["measured"] is True and next(r for r in rows if r["threads"] == 2)["devices"] == 1


@pytest.mark.parametrize("args, needle", [
    (["--target", "rpi4", "--port", "22"], "--port apply only with --host"),
    (["--target", "cpu", "--host", "pi@pi4"], "--host measures a device target"),
    (["--target", "rpi4", "--host", "pi;reboot"], "is not a host"),
    (["--target", "rpi4", "--host", "pi4", "--profile-ops"], "do not apply with --host"),
    (["--target", "rpi4", "--host", "pi4", "--timeout", "0"], "--timeout must be > 0"),
    (["--target", "rpi4", "--check-outputs"], "--check-outputs apply only with --host"),
    (["--target", "coral-usb", "--host", "pi4", "--check-outputs"], "--check-outputs compares CPU outputs"),
    (["--target", "auto"], "--target auto identifies and measures a device given with --host"),
])
def test_bench_host_usage_errors(cli, args, needle):
    line = assert_one_line_error(cli("bench", str(DATA / "tiny_fp32.tflite"), *args), code=2)
    assert needle in line
