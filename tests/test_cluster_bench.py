"""The cluster benchmark: a small study of real conversions (lenet5 in fp32, fp16 and int8, then three device
cells) on a cluster with one conversion node, then with two; and the start-up overhead of the cluster path (a warm
re-run through ``--cluster`` against the same warm study without it). Minutes long (two clusters, six cold
conversions), so it runs only with ``--benchmark-enable``::

    pytest tests/test_cluster_bench.py -m cluster --benchmark-enable -p no:cacheprovider -s

The figures are printed and kept in extra_info; docs/cluster.md quotes them. This machine has 2 cores, and each
conversion node is a process on them: two nodes cannot convert twice as fast here.
"""

from __future__ import annotations

import pytest

from tests.test_cluster import lab

pytestmark = [pytest.mark.cluster, pytest.mark.benchmark_suite]


def test_one_conversion_node_against_two(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("the cluster benchmark builds two clusters and converts six models (minutes): pass "
                    "--benchmark-enable")
    docs = []
    benchmark.pedantic(lambda: docs.append(lab("speedup", tmp_path)), rounds=1, iterations=1)
    doc = docs[0]
    one, two = doc["nodes1"], doc["nodes2"]
    assert one["code"] == 0 and two["code"] == 0, one["err"] + two["err"]
    assert one["convert_nodes"] == 1 and two["convert_nodes"] == 2
    assert doc["warm_codes"] == [0, 0], doc["warm_err"]
    figures = {"study_1_node_s": round(one["seconds"], 1), "study_2_nodes_s": round(two["seconds"], 1),
               "speedup_study": round(one["seconds"] / two["seconds"], 2),
               "conversions_1_node_s": round(one["convert_span_s"], 1),
               "conversions_2_nodes_s": round(two["convert_span_s"], 1),
               "speedup_conversions": round(one["convert_span_s"] / two["convert_span_s"], 2),
               "warm_cluster_s": round(doc["warm_cluster_s"], 1), "warm_local_s": round(doc["warm_local_s"], 1),
               "cluster_overhead_s": round(doc["warm_cluster_s"] - doc["warm_local_s"], 1)}
    benchmark.extra_info.update(figures)
    print(figures)
