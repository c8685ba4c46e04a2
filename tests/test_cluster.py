"""The ``cluster`` tier: ``edgekit study --cluster`` over a real Ray cluster (``ray.cluster_utils.Cluster``) on this
machine, inside a network namespace of its own (tests/cluster_lab.py): a head with no CPUs, two conversion
nodes and one lab node owning two loopback sshd devices. Needs root (``unshare -n``), sshd and the [cluster]
extra. Each scenario is a fresh lab; the whole tier takes a few minutes on 2 cores."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.cluster

CELLS = 3  # lenet5 x fp32, fp16, int8 x one device target


def _why_not() -> str | None:
    from tests.sshd import sshd_missing

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare(1) for a network namespace"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return "unshare -n is not allowed here"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "the [cluster] extra is not installed (pip install -e '.[cluster]')"
    return sshd_missing()


def lab(scenario: str, tmp_path) -> dict:
    why = _why_not()
    if why:
        pytest.skip(why)
    out = tmp_path / f"{scenario}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["unshare", "-n", sys.executable, str(ROOT / "tests" / "cluster_lab.py"), scenario,
                           str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert out.is_file(), proc.stderr[-4000:]
    doc = json.loads(out.read_text())
    assert doc["ray_left"] == [], doc["ray_left"]
    return doc


def one_line(run: dict) -> str:
    assert run["code"] in (1, 2), run
    assert "Traceback" not in run["err"], run["err"]
    lines = [line for line in run["err"].splitlines() if line.startswith("edgekit: error:")]
    assert len(lines) == 1, run["err"]
    return lines[0]


def cells(rows: list[dict]) -> list[tuple]:
    return [(r["model"], r["quant"], r["target"]) for r in rows]


def test_the_private_ray_name_edgekit_uses_is_there():
    pytest.importorskip("ray")
    from edgekit.app import ray_private

    ray_private.check()


@pytest.fixture(scope="module")
def study_lab(tmp_path_factory):
    """One lab for the study and the bench over it (a lab costs a cluster start and three conversions)."""
    return lab("study", tmp_path_factory.mktemp("study"))


def test_a_study_over_the_cluster(study_lab):
    doc = study_lab
    first = doc["first"]
    assert first["code"] == 0, first["err"]
    assert "Traceback" not in first["err"]
    rows = doc["rows_first"]
    grid = [(m, q, t) for m in ("lenet5",) for q in ("fp32", "fp16", "int8") for t in ("lab-x86", "cpu")]
    assert sorted(cells(rows)) == sorted(grid)  # every cell stored exactly once
    assert all(r["measured"] and r["where"] for r in rows)
    on_devices = [r for r in rows if r["target"] == "lab-x86"]
    assert all(r["where"].endswith(r["host"]) for r in on_devices)
    assert {r["host"] for r in on_devices} == {"dev-a", "dev-b"}  # the cells spread across the target's devices
    by_device: dict[str, list] = {}
    for r in on_devices:
        by_device.setdefault(r["cluster"]["device"], []).append((r["cluster"]["started"], r["cluster"]["ended"]))
    for spans in by_device.values():  # one measurement per device at a time
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    study = doc["results_json"]
    nodes, conversions = study["cluster"]["nodes"], study["cluster"]["conversions"]
    assert len(conversions) == 3 and all(nodes[c["node"]]["converts"] for c in conversions)
    for c in conversions:  # no node ever ran conversions whose estimates add up to more than its memory
        at_once = [o for o in conversions if o["node"] == c["node"] and o["started"] <= c["started"] < o["ended"]]
        assert sum(o["need"] for o in at_once) <= nodes[c["node"]]["memory"], at_once
    cpu = [r for r in rows if r["target"] == "cpu"]  # this machine's CPU: on a conversion node converting nothing
    assert all(nodes[r["cluster"]["node"]]["converts"] for r in cpu)
    assert all(r["cluster"]["started"] >= max(c["ended"] for c in conversions if c["node"] == r["cluster"]["node"])
               for r in cpu)
    assert "measured on 127.0.0.1/" in doc["report_md"]
    assert [r["where"] for r in study["rows"]] and doc["cache_entries"] == 3
    # the rows equal a local run's, apart from the measured values and where they were measured (locally the device
    # target is estimated, so its rows are compared on what does not depend on how they were served)
    local = doc["local"]
    assert local["code"] == 0, local["err"]
    assert cells(local["rows"]) == cells(study["rows"])
    assert doc["csv_header"][0] == doc["csv_header"][1]
    for ours, theirs in zip(study["rows"], local["rows"], strict=True):
        if ours["target"] == "cpu":
            assert set(ours) - {"where", "cluster"} == set(theirs) - {"where", "cluster"}, set(ours) ^ set(theirs)
            assert ours["threads"] == theirs["threads"] and ours["measured"] == theirs["measured"]
        for key in ("params", "mmacs", "size_mb", "input_shape", "variant", "accuracy_note", "model", "quant"):
            assert ours[key] == theirs[key], key
    # a re-run (the address from $RAY_ADDRESS) converts nothing and measures nothing
    second = doc["second"]
    assert second["code"] == 0, second["err"]
    assert "converting" not in second["err"] and "0 measured now, 6 reused" in second["err"]
    assert len(doc["rows_second"]) == 6


def test_bench_over_the_cluster_measures_on_every_device_of_the_kind(study_lab):
    doc = study_lab
    bench = doc["bench"]
    assert bench["code"] == 0, bench["err"]
    out = json.loads(bench["out"])
    assert {r["host"] for r in out["results"]} == {"dev-a", "dev-b"} and len(out["aggregate"]) == 1
    stored = doc["bench_rows"]
    assert len(stored) == 2 and all(r["where"].endswith(r["host"]) and r["measured"] for r in stored)
    alone = doc["bench_host_rows"]
    assert doc["bench_host"]["code"] == 0 and len(alone) == 1
    assert set(stored[0]) - {"where", "cluster"} == set(alone[0]) - {"where", "cluster"}  # the same record


def test_a_conversion_node_killed_mid_conversion(tmp_path):
    doc = lab("kill-convert", tmp_path)
    assert doc["found"] and doc["killed"], doc
    assert doc["code"] == 0, doc["err"]
    assert "state-dump" not in doc["out"] + doc["err"]  # Ray's lines about the dead node went to its log file
    assert f"on 127.0.0.1/{doc['survivor'][:8]}" in doc["err"]  # the conversion ran again on the other node
    assert len(doc["rows"]) == 1 and doc["rows"][0]["measured"]


def test_the_lab_node_killed_mid_measurement(tmp_path):
    doc = lab("kill-lab", tmp_path)
    assert doc["stored_before_kill"]
    first = doc["first"]
    one_line(first)  # the study reports, then names what failed
    measured = [r for r in doc["rows_first"] if r["measured"]]
    failed = [r for r in doc["rows_first"] if not r["measured"]]
    assert measured and failed and len(doc["rows_first"]) == CELLS
    assert all("node 127.0.0.1/" in r["error"] for r in failed)
    # a new lab node joins: the re-run measures only what is missing
    second = doc["second"]
    assert second["code"] == 0, second["err"]
    assert f"{len(failed)} measured now, {len(measured)} reused" in second["err"]
    good = [r for r in doc["rows_second"] if r["measured"]]
    assert len(good) == CELLS and len(set(cells(good))) == CELLS


def test_sigint_keeps_finished_rows(tmp_path):
    doc = lab("sigint", tmp_path)
    assert doc["stored_before"]
    assert doc["code"] == 130 and "Traceback" not in doc["err"], doc["err"]
    lines = [line for line in doc["err"].splitlines() if line.startswith("edgekit: error:")]
    assert len(lines) == 1 and "interrupted; " in lines[0], doc["err"]
    assert doc["rows"] and all(r["measured"] for r in doc["rows"])
    assert len(doc["rows"]) < CELLS  # stopped before the end: what it was measuring is not a failure row
    assert doc["device_leftovers"] == []


def test_bad_input_is_one_line(tmp_path):
    doc = lab("bad-input", tmp_path)
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in one_line(doc["unreachable"])
    assert "no device for target rpi4" in one_line(doc["no_device"])
    assert "Version mismatch" in one_line(doc["mismatch"]) or "2.59.0" in one_line(doc["mismatch"])
    assert "unknown target 'rpi9'" in one_line(doc["unknown_target"])
    assert "vgg16 int8: converting needs about" in doc["too_big"]["err"]  # the guard's line, without converting
    one_line(doc["too_big"])
    status = doc["status"]
    assert status["code"] == 0, status["err"]
    assert status["out"].count("answers yes") == 2 and status["out"].count("converts\n") == 2
