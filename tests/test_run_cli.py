"""The in-process CLI runner (tests/conftest.run_cli) shows what a fresh process would: stdout and stderr apart,
the exit code, the environment and working folder given, and nothing of them left behind."""

from __future__ import annotations

import os

from tests.conftest import DATA, assert_one_line_error, run_cli, run_cli_process
from tests.test_targets_registry import GOOD


def test_stdout_and_stderr_stay_apart_with_the_exit_code(tmp_path):
    ok = run_cli("info", str(DATA / "seed_separable.tflite"), "--json")
    assert ok.code == 0 and ok.json()["macs"] == 672 and ok.err == ""
    bad = run_cli("info", str(tmp_path / "missing.tflite"))
    assert bad.out == "" and "not found" in assert_one_line_error(bad, 1)
    usage = run_cli("info", "lenet5", "--bogus")
    assert usage.out == "" and assert_one_line_error(usage, 2)


def test_env_and_cwd_apply_to_the_call_and_are_restored(tmp_path):
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "jetson-cpu.toml").write_text(GOOD)
    before_env, before_cwd = dict(os.environ), os.getcwd()
    run = run_cli("targets", "--json", env={"EDGEKIT_HOME": str(tmp_path)}, cwd=tmp_path)
    assert run.code == 0, run.err
    assert "jetson-cpu" in {t["name"] for t in run.json()["targets"]}
    assert dict(os.environ) == before_env and os.getcwd() == before_cwd
    assert "jetson-cpu" not in {t["name"] for t in run_cli("targets", "--json").json()["targets"]}


def test_in_process_and_fresh_process_agree():
    args = ("info", str(DATA / "seed_separable.tflite"), "--json")
    assert run_cli(*args).json() == run_cli_process(*args).json()

