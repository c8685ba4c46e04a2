"""Phone targets: heterogeneous CPU clusters, thread placement, estimates with the phone family's held-out error,
and phones described in TOML by their SoC's facts (fast tier: no TensorFlow, no adb)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from targets import estimate_cpu
from targets.builtin import PHONES
from targets.estimate import EXPECTED_FILE, estimate_bench
from targets.records import Method, Reach
from targets.registry import get_target
from targets.userfile import TargetFileError, parse_target
from tests.conftest import assert_one_line_error, run_cli

DATA = Path(__file__).parent / "data"
TINY_INT8, TINY_FP32 = DATA / "tiny_int8.tflite", DATA / "tiny_fp32.tflite"

PHONE_TOML = """
name = "myphone"
soc = "Snapdragon 8 Gen 2"
gpu = "Adreno 740"
sources = ["Qualcomm product brief"]
[cpu]
memory_gbps = 30
cache_bytes = 8388608
[[cpu.clusters]]
core = "Cortex-A510"
count = 3
ghz = 2.0
fp32_flops_per_cycle = 8
int8_ops_per_cycle = 32
[[cpu.clusters]]
core = "Cortex-X3"
count = 1
ghz = 3.19
fp32_flops_per_cycle = 32
int8_ops_per_cycle = 128
[[cpu.clusters]]
core = "Cortex-A715"
count = 4
ghz = 2.8
fp32_flops_per_cycle = 16
int8_ops_per_cycle = 64
"""


def _phone_error(kind: str) -> int:
    return json.loads(EXPECTED_FILE.read_text())["phone"][kind]


@pytest.mark.parametrize("target", PHONES, ids=lambda t: t.key)
def test_builtin_phones_have_clusters_sources_and_are_estimated_without_a_serial(target):
    assert target.reach is Reach.ADB and target.phone is not None and target.phone.soc.startswith("Snapdragon")
    assert len(target.cpu.clusters) >= 2 and target.cpu.cores == sum(c.count for c in target.cpu.clusters)
    assert any("google/XNNPACK" in s or "tensorflow" in s for s in target.sources)
    assert target.method() is Method.ESTIMATE and target.method(host=True) is Method.ADB
    assert get_target("android").method() is Method.ADB


def test_threads_go_to_the_biggest_cores_first():
    cpu = get_target("pixel4").cpu
    assert estimate_cpu.placed(cpu, 1) == (("Cortex-A76", 2.84),)
    assert [g for _, g in estimate_cpu.placed(cpu, 5)] == [2.84, 2.42, 2.42, 2.42, 1.78]
    assert estimate_cpu.default_threads(cpu) == 4  # one per big core, as the published runs
    # a little core adds less than a big one, and each adds something
    s = [estimate_cpu.thread_speedup(cpu, n) for n in range(1, 9)]
    assert all(b > a for a, b in itertools.pairwise(s))
    assert s[4] - s[3] < s[3] - s[2]
    # the clusters' order in a TOML file does not matter: the fastest comes first
    toml = parse_target(PHONE_TOML, "myphone.toml").cpu
    assert toml.clusters[0].core == "Cortex-X3" and toml.ghz == 3.19 and toml.cores == 8


def test_a_builtin_phone_estimate_says_est_its_error_and_its_cores():
    doc = estimate_bench(TINY_INT8, get_target("pixel4")).to_dict()
    assert doc["measured"] is False and doc["threads"] == 4
    assert doc["expected_error_pct"] == _phone_error("int8")
    assert doc["device"]["soc"] == "Snapdragon 855" and doc["device"]["cores_assumed"][0] == "Cortex-A76 @ 2.84 GHz"
    assert any("biggest cores first" in w and "Cortex-A76" in w for w in doc["warnings"])
    assert doc["energy_mj"] is None and "no public power figure for Snapdragon 855" in doc["energy_note"]
    assert estimate_bench(TINY_FP32, get_target("pixel3")).to_dict()["expected_error_pct"] == _phone_error("fp32")


def test_a_toml_only_phone_carries_the_family_held_out_error(tmp_path):
    path = tmp_path / "myphone.toml"
    path.write_text(PHONE_TOML)
    doc = estimate_bench(TINY_INT8, get_target(str(path))).to_dict()
    assert doc["target"] == "myphone" and doc["expected_error_pct"] == _phone_error("int8")
    # faster cores, faster estimate: the SoC's facts drive it
    assert doc["latency_ms"]["p50"] < estimate_bench(TINY_INT8, get_target("pixel")).to_dict()["latency_ms"]["p50"]


def test_cli_prints_a_phone_estimate_with_its_error(tmp_path):
    run = run_cli("bench", str(TINY_INT8), "--target", "pixel4")
    assert run.code == 0, run
    assert f"±{_phone_error('int8')}% est." in run.out.replace("\n", " ").replace("│", " ") or \
        f"±{_phone_error('int8')}%" in run.out
    assert "est." in run.out and "Cortex-A76" in run.out and "--serial" in run.out
    path = tmp_path / "myphone.toml"
    path.write_text(PHONE_TOML)
    run = run_cli("bench", str(TINY_INT8), "--target", str(path))
    assert run.code == 0 and "Cortex-X3" in run.out and "est." in run.out, run


@pytest.mark.parametrize(("change", "message"), [
    (("count = 3", "count = 0"), "count must be greater than 0"),
    (("count = 3", "count = 2.5"), "count must be a whole number"),
    (("core = \"Cortex-A510\"", "cores = 3"), "unknown field 'cores'"),
    (("memory_gbps = 30", ""), "missing field 'memory_gbps'"),
    (("[cpu]", "delegate = \"edgetpu\"\n[cpu]"), "does not apply to a phone"),
])
def test_bad_phone_files_are_one_line_errors(change, message):
    with pytest.raises(TargetFileError, match=message):
        parse_target(PHONE_TOML.replace(*change, 1), "myphone.toml")


def test_phone_fields_on_a_board_are_refused(tmp_path):
    text = "name = \"b\"\nsoc = \"x\"\n[cpu]\ncores = 4\nghz = 1\nfp32_flops_per_cycle_per_core = 8\n" \
           "int8_ops_per_cycle_per_core = 16\nmemory_gbps = 4\n"
    path = tmp_path / "b.toml"
    path.write_text(text)
    assert "describes a phone" in assert_one_line_error(run_cli("bench", str(TINY_INT8), "--target", str(path)))
