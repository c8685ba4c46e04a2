"""Conversions run at batch 1, so a Flatten leaves a plain RESHAPE the Edge TPU can map."""

from __future__ import annotations

import pytest

from edgekit.analysis import read_tflite
from targets.edgetpu import check_graph

pytestmark = pytest.mark.usefixtures("tf")


def test_int8_lenet5_has_a_static_batch_and_maps_whole_to_the_edgetpu(tmp_path, monkeypatch):
    from converters import convert

    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    result = convert("lenet5", "int8", calibration="digits", samples=8, output=tmp_path / "lenet5.tflite")
    graph = read_tflite(result.path)
    opcodes = {op.opcode for op in graph.ops}
    assert not opcodes & {"SHAPE", "STRIDED_SLICE", "PACK"}, opcodes
    assert graph.tensors[graph.inputs[0]].shape == (1, 32, 32, 1)
    assert graph.tensors[graph.inputs[0]].shape_signature in ((), (1, 32, 32, 1))  # empty: same as shape
    report = check_graph(graph)
    assert report.compatible, report
