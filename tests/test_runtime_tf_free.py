"""The device path in a fresh venv with only numpy, ai-edge-litert and edgekit (--no-deps; conftest's
tf_free_python): an int8 MobileNetV2 loads and runs, TensorFlow is not importable, and the process peaks
under 100 MB."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests._mnv2 import mobilenetv2

pytestmark = [pytest.mark.slow, pytest.mark.heavy]  # a venv and MobileNet v2 (19 s): CI's heavy tier

_PROBE = """
import importlib.util, json, sys
import numpy as np
from edgekit.runtime import load
# VmHWM, not ru_maxrss: ru_maxrss carries the parent's (pytest's, maybe with TF loaded) peak across exec
m = load(sys.argv[1], threads=1)
y = m.predict(np.random.default_rng(0).uniform(-1, 1, (224, 224, 3)).astype(np.float32))
print(json.dumps({"shape": list(y.shape), "dtype": str(y.dtype), "backend": m.backend.name.value,
                  "tf_importable": importlib.util.find_spec("tensorflow") is not None,
                  "tf_loaded": "tensorflow" in sys.modules,
                  "peak_rss_mb": [int(l.split()[1]) / 1024 for l in open("/proc/self/status")
                                  if l.startswith("VmHWM:")][0]}))
"""


def test_int8_mobilenetv2_runs_without_tensorflow_under_100_mb(tf_free_python, tmp_path):
    model = mobilenetv2("int8")
    proc = subprocess.run([str(tf_free_python), "-c", _PROBE, str(model)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    print(doc)
    assert doc["shape"] == [1, 1000] and doc["dtype"] == "float32"
    assert doc["backend"] == "ai_edge_litert"
    assert not doc["tf_importable"] and not doc["tf_loaded"]
    assert doc["peak_rss_mb"] < 100, doc

