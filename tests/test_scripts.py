"""The measuring scripts issue 22's figures come from: scripts/rss_tree.py (the process tree's peak memory) and
scripts/compare_study.py (a study against the README's example)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_rss_tree_sees_a_childs_memory():
    """A child that holds 200 MB for 2 s: the tree's peak and the largest process's include it; the status passes
    through."""
    child = "import time; x = bytearray(200 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(2); exit(3)"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "rss_tree.py"), "--interval", "0.2", "--",
                           sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    total = int(line.split("process tree (sampled every 0.2 s) ")[1].split(" MB")[0])
    largest = int(line.split("largest single process peak (VmHWM, sampled) ")[1].split(" MB")[0])
    assert 200 <= largest <= total < 400, line


def _study(tmp_path, name: str, rows: list[dict]):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"rows": rows}))
    return path


def _row(target="cpu", model="lenet5", quant="fp32", p50=1.0, ci=(0.95, 1.05), noisy=False, measured=True):
    return {"target": target, "model": model, "quant": quant, "measured": measured, "noisy": noisy,
            "size_bytes": 1000, "macs": 10, "latency_ms": {"p50": p50, "ci95": list(ci)}}


def test_compare_study_names_each_row_that_differs(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from compare_study import compare, main
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    ref = _study(tmp_path, "ref", [_row(), _row(quant="int8"), _row(model="vgg16"), _row(target="rpi4",
                                                                                          measured=False)])
    same = _study(tmp_path, "same", [_row(p50=1.04, ci=(1.0, 1.1)), _row(quant="int8", p50=1.5, noisy=True),
                                     _row(model="vgg16", p50=1.2, ci=(1.04, 1.3)),
                                     _row(target="rpi4", measured=False)])
    assert compare(same, ref) == []  # inside, noisy, overlapping intervals, the same estimate
    differs = _study(tmp_path, "differs", [_row(p50=1.3, ci=(1.2, 1.4)), {**_row(quant="int8"), "size_bytes": 999},
                                           _row(target="rpi4", measured=False, p50=2.0)])
    assert compare(differs, ref) == [
        "cpu vgg16 fp32: only in the reference",
        "cpu lenet5 fp32: latency 1.3 ms [1.2, 1.4] outside the reference's [0.95, 1.05]",
        "cpu lenet5 int8: size_bytes 999 vs 1000",
        "rpi4 lenet5 fp32: estimate {'p50': 2.0, 'ci95': [0.95, 1.05]} vs {'p50': 1.0, 'ci95': [0.95, 1.05]}"]
    assert main([str(same), str(ref)]) == 0 and main([str(differs), str(ref)]) == 1
