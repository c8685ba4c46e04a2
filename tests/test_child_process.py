"""edgekit.child_process: the one wire, the one way a child's error, crash, Ctrl-C or SIGTERM comes back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from edgekit import child_process, interrupt
from edgekit.child_process import Child, ChildKilled, ChildTimedOut
from edgekit.errors import EdgekitError, UsageError
from tests.conftest import ROOT


def _run(do: str, **kwargs):
    child = Child(module="tests._child_fixture", what=f"the fixture doing {do}", capture=True,
                  **{k: v for k, v in kwargs.items() if k != "progress"})
    return child_process.run(child, {"do": do}, progress=kwargs.get("progress"))


def test_the_reply_comes_back_whatever_the_child_prints():
    assert _run("echo") == {"echo": {"do": "echo"}}


def test_progress_reaches_the_caller_in_order():
    seen: list[int] = []
    assert _run("progress", progress=seen.append) == {}
    assert seen == [1, 2, 3]


def test_a_childs_error_is_raised_as_its_type_or_as_edgekiterror():
    with pytest.raises(UsageError, match=r"^bad --thing 7; choose from 1, 2$"):
        _run("usage")
    with pytest.raises(EdgekitError, match=r"^an odd one$") as err:
        _run("odd")
    assert type(err.value) is EdgekitError


def test_a_crash_names_the_child_and_its_last_line():
    with pytest.raises(EdgekitError, match=r"^the fixture doing exit failed \(exit status 3\): the last line it "
                                           r"printed$"):
        _run("exit")


def test_a_kill_says_signal_and_the_oom_killer():
    with pytest.raises(ChildKilled, match=r"killed by signal 9 \(SIGKILL\); that is usually the out-of-memory"):
        _run("kill")


def test_ctrl_c_and_sigterm_in_the_child_come_back_as_such():
    with pytest.raises(KeyboardInterrupt) as err:
        _run("ctrl-c")
    assert not isinstance(err.value, interrupt.Terminated)
    with pytest.raises(interrupt.Terminated) as err:
        _run("term")
    assert err.value.signum == signal.SIGTERM


def test_a_child_past_its_timeout_is_killed():
    started = time.monotonic()
    with pytest.raises(ChildTimedOut, match=r"^the fixture doing sleep took over 1 s; lower it$"):
        _run("sleep", timeout=1, timeout_hint="lower it")
    assert time.monotonic() - started < 10


def test_run_by_hand_the_child_answers_on_stdout():
    env = {k: v for k, v in child_process.env().items() if k != child_process.REPLY_FD}
    proc = subprocess.run([sys.executable, "-m", "tests._child_fixture"], input=json.dumps({"do": "usage"}),
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"error": "bad --thing 7; choose from 1, 2",
                                                        "error_type": "UsageError", "exit_code": 2}


def test_one_pythonpath_rule():
    paths = child_process.env({"PYTHONPATH": "/elsewhere"})["PYTHONPATH"].split(os.pathsep)
    assert paths == [str(ROOT), "/elsewhere"]
