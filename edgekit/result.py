"""One result record for every way edgekit gets a model's figures on a target: measured, estimated, failed, or
a microcontroller's fit verdict.

:class:`Result` is what the builders make (``bench.result``, ``targets.estimate``, ``targets.remote_result``,
``targets.android_result``, ``targets.mcu_bench``) and what the measuring service, the store, the energy code and
``edgekit bench``'s tables pass on and read, and what each study row carries (``edgekit.study.study_row``). Its
documents -- ``to_dict()``, written by ``edgekit.result_doc`` -- are the JSON (``--json``), CSV and results-database
format, unchanged: ``from_dict(doc).to_dict() == doc`` for every document edgekit writes, including ones stored by
earlier versions. Keys the record does not type (provenance, the device's facts, a study's columns, figures added later)
are carried through in ``extra``. ``to_dict``/``from_dict`` are for the edges: JSON, CSV, SQLite and the wire to a
child process or a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from edgekit import result_doc
from edgekit.energy import EnergyFigure
from edgekit.result_parts import OPTIONAL, EstimateInfo, Failure, Figures, FitVerdict, Kind, Latency, Rounds

__all__ = ["EstimateInfo", "Failure", "Figures", "FitVerdict", "Kind", "Latency", "Result", "Rounds", "error_of"]


@dataclass(frozen=True, kw_only=True)
class Result:
    """A model x quant x threads on a target, and what edgekit got for it.

    Every kind has the labels (``target`` .. ``warnings``). ``figures`` is there for all but a failure;
    ``rounds`` for a measurement; ``estimate_info`` for an estimate and a fit verdict; ``failure`` for a failure;
    ``fit`` for a fit verdict; ``energy`` (per inference) where a sensor or the estimator gave one. ``extra``:
    every other key of the document (provenance, device, host, a study's columns, ...), in order, so nothing is
    lost on the way through.
    """

    kind: Kind
    target: str
    model: str
    quant: str | None
    threads: int | None
    path: str | None = None
    xnnpack: bool | None = field(default=None, metadata={OPTIONAL: True})  # absent on an estimate (no runtime)
    warnings: tuple[str, ...] = ()
    figures: Figures | None = None
    rounds: Rounds | None = None
    estimate_info: EstimateInfo | None = None
    failure: Failure | None = None
    fit: FitVerdict | None = None
    energy: EnergyFigure | None = None  # per inference, measured or estimated (edgekit.energy); any kind but failed
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)  # a read document's, kept on write

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        need = {Kind.MEASURED: ("figures", "rounds"), Kind.ESTIMATED: ("figures", "estimate_info"),
                Kind.FAILED: ("failure",), Kind.FIT: ("figures", "estimate_info", "fit")}[self.kind]
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind.value} result needs {', '.join(missing)}; got none")

    # -- what a result is ------------------------------------------------------------------------------------

    @staticmethod
    def kind_of(doc: Mapping[str, Any]) -> Kind:
        """What a result document is, from its keys (documents from every edgekit version)."""
        return result_doc.kind_of(doc)

    @property
    def measured(self) -> bool:
        return self.kind is Kind.MEASURED

    @property
    def failed(self) -> bool:
        return self.kind is Kind.FAILED

    @property
    def p50_ms(self) -> float | None:
        return self.figures.latency_ms.p50 if self.figures is not None else None

    @property
    def noisy(self) -> bool:
        """A measurement whose p50 interval stayed wider than the protocol asks (never an estimate)."""
        return bool(self.rounds is not None and self.rounds.noisy)

    @property
    def expected_error_pct(self) -> float | None:
        """An estimate's (or a fit verdict's) expected latency error; None for a measurement or a failure."""
        return self.estimate_info.expected_error_pct if self.estimate_info is not None else None

    def with_keys(self, **keys: Any) -> Result:
        """This result with more document keys (``id``, a profile's ``ops``, a study's columns), written after
        the ones it has, in the order given; a key it has already keeps its place."""
        order = tuple(self.to_dict())
        return replace(self, extra={**self.extra, **keys}, key_order=order + tuple(k for k in keys if k not in order))

    # -- the document (edgekit.result_doc) ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The document: the JSON, CSV and database format (``measured`` is true for a measurement only)."""
        return result_doc.encode(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Result:
        """The record of a document (``to_dict``'s, or one stored by any earlier edgekit); unknown keys go to
        ``extra``. Raises ValueError for a document that is not a result (no target or model)."""
        return cls(**result_doc.decode(doc))


def error_of(doc: Mapping[str, Any]) -> Failure | None:
    """A failure report's error -- a result that failed, or a child process's or device runner's
    ``{"error", "error_type"}`` document -- else None."""
    if "error" not in doc:
        return None
    return Failure(error=doc["error"], error_type=doc.get("error_type") or "EdgekitError")
