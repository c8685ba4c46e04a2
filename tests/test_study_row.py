"""A study row (``edgekit.study.study_row.StudyRow``): a result with the study's columns as typed fields, whose
document is results.json's row, key for key and in order."""

from __future__ import annotations

import json

import pytest

from edgekit.result import Kind
from edgekit.study.study_row import COLUMNS, StudyRow
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "study-example" / "results.json"


def test_the_committed_study_rows_round_trip_key_for_key():
    doc = json.loads(EXAMPLE.read_text())
    for row in doc["rows"]:
        record = StudyRow.from_dict(row)
        assert list(record.to_dict().items()) == list(row.items())  # same keys, same order, same values
        assert not set(COLUMNS) & set(record.result.extra)  # the study's columns are the row's, not the result's
        assert (record.target, record.model, record.quant) == (row["target"], row["model"], row["quant"])
        assert record.input_shape == tuple(row["input_shape"]) and record.variant == row["variant"]


def test_each_kind_carries_its_own_columns():
    doc = json.loads(EXAMPLE.read_text())
    estimated = next(StudyRow.from_dict(r) for r in doc["rows"] if not r["measured"])
    measured = next(StudyRow.from_dict(r) for r in doc["rows"] if r["measured"])
    assert estimated.result.kind is Kind.ESTIMATED and estimated.estimated_memory_mb is not None
    assert "estimated_memory_mb" in estimated.to_dict() and "estimated_memory_mb" not in measured.to_dict()
    assert "arena_mb" not in estimated.to_dict() and "source" not in measured.to_dict()  # a zoo model's row


def test_a_document_that_is_not_a_result_is_refused():
    with pytest.raises(ValueError, match="not a result document"):
        StudyRow.from_dict({"variant": "zoo", "input_shape": [1]})
