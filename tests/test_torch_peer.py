"""edgekit.app.torch_peer, the torchvision row beside LiteRT's GPU figures: a real run of torchvision's
MobileNet v2 on the CPU, in whichever Python here has torchvision (this one, or Debian's python3-torchvision),
one JSON line per model, a failing model alone, and each phase's time on stderr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _python_with_torchvision() -> str | None:
    for py in dict.fromkeys([sys.executable, shutil.which("python3"), "/usr/bin/python3"]):
        if py and os.path.exists(py) and subprocess.run([py, "-c", "import torchvision"],
                                                        capture_output=True).returncode == 0:
            return py
    return None


def test_torchvision_peer_runs_each_model_and_names_a_failure():
    py = _python_with_torchvision()
    if py is None:
        pytest.skip("no Python here has torchvision (the GPU machine's has; Debian: apt-get install "
                    "python3-torchvision)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([py, "-m", "edgekit.app.torch_peer", "--models", "mobilenetv2,nosuch", "--device", "cpu",
                           "--runs", "3", "--warmup", "1", "--min-seconds", "0"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr  # one model failed
    good, bad = (json.loads(line) for line in proc.stdout.splitlines())
    assert good["model"] == "mobilenetv2" and good["execution"] == "eager" and good["target"] == "cpu"
    assert good["measured"] is True and good["runs"] >= 3 and 0 < good["latency_ms"]["min"] <= good["latency_ms"]["p50"]
    assert good["framework"].startswith("torchvision ") and "torch.no_grad()" in good["call"]
    assert list(good["phase_s"]) == ["import", "build", "compile", "warmup", "timed"]
    assert bad == {"model": "nosuch", "error": "ValueError: no torchvision peer for 'nosuch'; choose from: "
                                             "mobilenetv2, resnet50, vgg16"}
    phases = [ln.split(":")[0] for ln in proc.stderr.splitlines() if ln.startswith("phase ")]
    assert phases == ["phase import", "phase build", "phase compile", "phase warmup", "phase timed"]
