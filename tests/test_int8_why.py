"""Why int8 was measured slower than fp32 (issue 32), read from the models: a pair built so that XNNPACK takes the
fp32 graph whole and leaves an int8 SOFTMAX on the builtin kernels (tests/data/make_int8_split.py). The partition
counts are checked, never timings."""

from __future__ import annotations

import numpy as np

from bench.int8_why import explain, explain_all, int8_features, partition, split_ops
from edgekit.result import Result
from tests.conftest import DATA

X86 = {"cpu": "Intel Xeon", "machine": "x86_64", "isa": ["avx2", "fma", "avx512f"]}


def test_partition_of_the_split_pair():
    fp32, int8 = partition(DATA / "split_fp32.tflite"), partition(DATA / "split_int8.tflite")
    assert (fp32.ops, fp32.delegate_nodes, fp32.builtin) == (5, 1, ())
    assert int8.ops == 5 and int8.delegate_nodes > fp32.delegate_nodes and int8.builtin
    assert "on builtin kernels" in int8.words() and "covering all 5 ops" in fp32.words()
    assert partition(DATA / "no_such.tflite") is None


def test_split_ops_walks_each_delegate_back_to_its_inputs():
    def op(name, ins, outs):
        return {"op_name": name, "inputs": np.array(ins), "outputs": np.array(outs)}

    details = [op("CONV_2D", [0, 9], [1]), op("SOFTMAX", [1], [2]), op("CONV_2D", [2, 8], [3]),
               op("DELEGATE", [0, 9], [1]), op("DELEGATE", [2, 8], [3])]
    assert split_ops(details).builtin == ("SOFTMAX",)
    assert split_ops(details[:3]).builtin == ("CONV_2D", "SOFTMAX", "CONV_2D")  # no XNNPACK at all


def test_int8_features_from_the_recorded_flags():
    assert int8_features(["avx2", "avx512_vnni"], "x86_64") == "AVX-512 VNNI (int8 dot products)"
    assert int8_features(["avx2", "avx_vnni"], "x86_64").startswith("AVX-VNNI")
    assert int8_features(["avx2", "fma"], "x86_64").startswith("no VNNI")
    assert int8_features(["asimd", "asimddp", "i8mm"], "aarch64") == "dotprod, i8mm (int8 dot products)"
    assert int8_features(["neon", "asimd"], "aarch64").startswith("no dotprod or i8mm")


def _doc(quant: str, p50: float, lo: float, hi: float, **kw) -> dict:
    return {"model": f"split_{quant}", "quant": quant, "target": "cpu", "threads": 1, "xnnpack": True,
            "path": str(DATA / f"split_{quant}.tflite"), "device": X86,
            "latency_ms": {"p50": p50, "ci95": [lo, hi]}, **kw}


def _result(quant: str, p50: float, lo: float, hi: float, **kw) -> Result:
    return Result.from_dict(_doc(quant, p50, lo, hi, **kw))


def test_explain_when_int8_is_slower():
    fp32 = _result("fp32", 1.0, 0.95, 1.05)
    int8 = _result("int8", 3.0, 2.9, 3.1, ops=[{"op": "SOFTMAX", "ms": 0.6}, {"op": "CONV_2D", "ms": 0.4}])
    lines = explain(fp32, int8)
    text = "\n".join(lines)
    assert lines[0].startswith("why int8 is 3.00x slower than fp32 for split_int8 (") and "tensorflow#21698" in text
    assert "fp32 1 XNNPACK node covering all 5 ops; int8 2 XNNPACK nodes" in text and "SOFTMAX" in text
    assert "int8 time by op (--profile-ops, each op alone): SOFTMAX 60%, CONV_2D 40%" in text
    assert "this CPU (Intel Xeon): no VNNI" in text
    assert explain_all([fp32, int8]) == lines  # the two files of one model, paired by name


def test_no_explanation_when_the_intervals_overlap_or_int8_is_faster():
    assert explain(_result("fp32", 1.0, 0.9, 1.3), _result("int8", 1.2, 1.1, 1.4)) == []
    assert explain(_result("fp32", 2.0, 1.9, 2.1), _result("int8", 1.0, 0.9, 1.1)) == []


def test_the_study_conclusion_says_why(monkeypatch):
    from edgekit.study import summary
    from edgekit.study.study_row import StudyRow

    monkeypatch.setattr(summary, "_both_measured", lambda a, b: True)
    monkeypatch.setattr("bench.compare.result_ratio", lambda a, b: (3.0, 2.9, 3.1, "paired"))
    rows = [{**_doc(q, p50, lo, hi), "model": "split", "variant": "zoo"}
            for q, p50, lo, hi in (("fp32", 1.0, 0.95, 1.05), ("int8", 3.0, 2.9, 3.1))]
    text = summary.quant_versus([StudyRow.from_dict(r) for r in rows], "cpu", {"split": "Split"})
    assert "Split:" in text and "int8 2 XNNPACK nodes" in text and "no VNNI" in text, text
