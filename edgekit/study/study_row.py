"""A study row: a cell's :class:`edgekit.result.Result` with the study's own columns (variant, input shape,
parameters, MACs, size, accuracy, and a microcontroller's arena or an estimate's memory).

:class:`StudyRow` is what the study's collection makes (``edgekit.study.rows.decorate``) and what its summary,
report and plots read. Its document -- ``to_dict()``, the result's document with the study's columns after it --
is a row of results.json and of the CSV, unchanged, written only there (``edgekit.study.report``). ``from_dict``
reads such a row back, for whatever reads results.json (the study itself never does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgekit.result import Kind, Result

_FIT_KEYS = ("arena_mb",)  # a microcontroller's (a fit verdict) only
_ESTIMATE_KEYS = ("estimated_memory_mb", "estimated_memory_method")  # an estimate's only
_CELL_KEYS = ("variant", "input_shape", "params", "params_m", "mmacs", "size_mb")
_USER_KEYS = ("source", "converted_here")  # a user's model only
_ACCURACY_KEYS = ("accuracy_pct", "accuracy_note")
COLUMNS = (*_FIT_KEYS, *_ESTIMATE_KEYS, *_CELL_KEYS, *_USER_KEYS, *_ACCURACY_KEYS)  # the study's, in document order


@dataclass(frozen=True, kw_only=True)
class StudyRow:
    """One cell of the study: its result (labelled with the cell's target, model and quant; a profile's ``ops``
    left out) and the study's columns, named as results.json has them.

    ``arena_mb``: the arena TFLite Micro needs (measured), a fit verdict's only. ``estimated_memory_mb`` and
    ``estimated_memory_method``: an estimate's memory (weights as stored plus peak live activations). ``source`` and
    ``converted_here``: a user's model's (None for a zoo model). ``size_mb`` is the .tflite file's (a failure's
    too), ``params_m`` and ``mmacs`` the parameters and MACs in millions as the report shows them.
    """

    result: Result
    variant: str
    input_shape: tuple[int, ...]
    params: int
    params_m: float
    mmacs: float
    size_mb: float
    accuracy_pct: float | None = None
    accuracy_note: str | None = None
    arena_mb: float | None = None
    estimated_memory_mb: float | None = None
    estimated_memory_method: str | None = None
    source: str | None = None
    converted_here: bool | None = None

    def __post_init__(self):
        if self.input_shape is not None:  # None only in a partial document read back (``from_dict``)
            object.__setattr__(self, "input_shape", tuple(self.input_shape))

    @property
    def target(self) -> str:
        return self.result.target

    @property
    def model(self) -> str:
        return self.result.model

    @property
    def quant(self) -> str | None:
        return self.result.quant

    @property
    def user(self) -> bool:
        """A user's model (a file named on the command line), not a zoo model."""
        return self.source is not None

    # -- the document (results.json's row, the CSV's) ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The row of results.json: the result's document, then the study's columns that apply to this row."""
        doc = self.result.to_dict()
        keys = (*(_FIT_KEYS if self.result.kind is Kind.FIT else ()),
                *(_ESTIMATE_KEYS if self.result.kind is Kind.ESTIMATED else ()), *_CELL_KEYS,
                *(_USER_KEYS if self.user else ()), *_ACCURACY_KEYS)
        for key in keys:
            doc[key] = getattr(self, key)
        doc["input_shape"] = list(self.input_shape)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> StudyRow:
        """The record of a results.json row (``to_dict``'s): ``from_dict(doc).to_dict() == doc``. A column the
        document lacks is None. Raises ValueError for a document that is not a result (no target or model)."""
        rest = {k: v for k, v in doc.items() if k not in COLUMNS}
        return cls(result=Result.from_dict(rest), **{k: doc.get(k) for k in COLUMNS})
