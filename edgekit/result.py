"""One result record for every way edgekit gets a model's figures on a target: measured, estimated, failed, or
a microcontroller's fit verdict.

:class:`Result` is what the builders make (``bench.result``, ``targets.estimate``, ``targets.remote_result``,
``targets.mcu_bench``) and what the readers ask (``Result.kind_of(doc)``). Its documents -- ``to_dict()`` --
are the JSON (``--json``), CSV and results-database format, unchanged: ``from_dict(doc).to_dict() == doc``
for every document edgekit writes, including ones stored by earlier versions. Keys the record does not type
(provenance, the device's facts, a study's columns, figures added later) are carried through in ``extra``.

This is the only place that works out what a document is from the keys it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.energy import EnergyFigure

__all__ = ["Estimate", "Failure", "Figures", "Fit", "Kind", "Latency", "Result", "Rounds", "error_of", "is_failed",
           "is_measured"]


class Kind(StrEnum):
    """What a result is."""

    MEASURED = "measured"  # timed on this machine, its GPU or a device
    ESTIMATED = "estimated"  # the cost model's figure, nothing run
    FAILED = "failed"  # the config could not be measured or estimated: its error instead of numbers
    FIT = "fit"  # a microcontroller: TFLite Micro's fit verdict (arena measured here), latency estimated


_OPTIONAL = "optional"  # field metadata: the key is left out of the document when the value is None


_OPT = MappingProxyType({_OPTIONAL: True})


@dataclass(frozen=True, kw_only=True)
class Latency:
    """``latency_ms``: over every timed call (measured) or the estimate's one figure (p50 = mean)."""

    min: float | None = None
    mean: float | None = None
    std: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = field(default=None, metadata=_OPT)  # measured: over every timed call
    iqr: float | None = field(default=None, metadata=_OPT)
    ci95: tuple[float, float] | None = field(default=None, metadata=_OPT)  # measured: p50's 95% interval


@dataclass(frozen=True, kw_only=True)
class Figures:
    """The numbers every non-failed result has (None where its kind has no such figure)."""

    latency_ms: Latency
    init_ms: float | None = None
    first_ms: float | None = None
    peak_rss_mb: float | None = None
    size_bytes: int | None = None
    macs: int | None = None
    gmacs_per_s: float | None = None
    throughput_ips: float | None = None
    backend: str | None = None


@dataclass(frozen=True, kw_only=True)
class Rounds:
    """A measurement's protocol: its rounds (``bench.protocol``), warm-up and memory baseline."""

    cv: float
    rounds: int
    noisy: bool
    round_ms: tuple[float, ...]
    round_ids: tuple[int, ...]
    runs: int
    warmup: int
    warmup_runs: tuple[int, ...]
    warmup_settled: bool
    batch: int
    pinned_cores: Any = None
    machine: Mapping[str, Any] | None = None
    rss_increase_mb: float | None = None
    baseline_rss_mb: float | None = None


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """How an estimate (or a microcontroller's latency) was made, and how far off it is expected to be."""

    estimate_method: str
    expected_error_pct: float | None = None
    expected_error_basis: str | None = field(default=None, metadata=_OPT)
    estimate: Mapping[str, Any] | None = field(default=None, metadata=_OPT)  # the cost model's breakdown
    runs_on: str | None = field(default=None, metadata=_OPT)  # "host-cpu": the accelerator runs none of it
    sources: list[str] | None = field(default=None, metadata=_OPT)


@dataclass(frozen=True, kw_only=True)
class Failure:
    """Why a config has no figures: one line, and the error's type (``UsageError`` for a file that cannot be fed)."""

    error: str
    error_type: str


@dataclass(frozen=True, kw_only=True)
class Fit:
    """A microcontroller's verdict (``targets.mcu``): does the model fit its RAM and flash, and why not."""

    fits: bool
    verdict: str
    reasons: tuple[str, ...] = ()
    ram: Mapping[str, Any] | None = None  # arena_bytes (measured in TFLite Micro), arena_budget_bytes, measured
    flash: Mapping[str, Any] | None = None  # flash_bytes (estimated), flash_budget_bytes, estimated


# Each kind's keys in the order its documents have always had them (--json output reads the same).
_ORDER = {
    Kind.MEASURED: ("target", "model", "quant", "threads", "xnnpack", "measured", "path", "latency_ms", "cv", "rounds",
                    "noisy", "round_ms", "round_ids", "runs", "warmup", "warmup_runs", "warmup_settled", "batch",
                    "pinned_cores", "machine", "init_ms", "first_ms", "throughput_ips", "peak_rss_mb",
                    "rss_increase_mb", "baseline_rss_mb", "size_bytes", "macs", "gmacs_per_s", "backend",
                    "backend_version", "device", "edgekit", "commit", "time_utc", "warnings"),
    Kind.ESTIMATED: ("target", "model", "quant", "threads", "measured", "estimate_method", "path", "latency_ms",
                     "init_ms", "first_ms", "peak_rss_mb", "size_bytes", "macs", "gmacs_per_s", "throughput_ips",
                     "backend", "device", "estimate", "warnings", "expected_error_pct", "runs_on"),
    Kind.FIT: ("target", "model", "quant", "threads", "measured", "estimate_method", "path", "latency_ms",
               "expected_error_pct", "expected_error_basis", "sources", "init_ms", "first_ms", "peak_rss_mb",
               "size_bytes", "macs", "gmacs_per_s", "throughput_ips", "backend", "backend_version", "device", "fits",
               "verdict", "reasons", "ram", "flash", "outputs_vs_local", "warnings"),
    Kind.FAILED: ("target", "model", "quant", "threads", "xnnpack", "measured", "path", "error", "error_type"),
}

_PARTS = {"figures": Figures, "rounds": Rounds, "estimate_info": Estimate, "failure": Failure, "fit": Fit}
_SEQUENCES = {"round_ms", "round_ids", "warmup_runs", "reasons", "ci95"}  # tuples here, lists in a document


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
    xnnpack: bool | None = field(default=None, metadata=_OPT)  # absent on an estimate (no runtime)
    warnings: tuple[str, ...] = ()
    figures: Figures | None = None
    rounds: Rounds | None = None
    estimate_info: Estimate | None = None
    failure: Failure | None = None
    fit: Fit | None = None
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
        if "error" in doc:
            return Kind.FAILED
        if "verdict" in doc:
            return Kind.FIT
        return Kind.MEASURED if doc.get("measured", True) else Kind.ESTIMATED

    @property
    def measured(self) -> bool:
        return self.kind is Kind.MEASURED

    @property
    def failed(self) -> bool:
        return self.kind is Kind.FAILED

    @property
    def p50_ms(self) -> float | None:
        return self.figures.latency_ms.p50 if self.figures is not None else None

    # -- the document ------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The document: the JSON, CSV and database format (``measured`` is true for a measurement only)."""
        doc: dict[str, Any] = {"target": self.target, "model": self.model, "quant": self.quant,
                               "threads": self.threads}
        _put(doc, self, ("xnnpack",))
        doc["measured"] = self.measured
        doc["path"] = self.path
        for name in _PARTS:
            part = getattr(self, name)
            if part is not None:
                _put(doc, part, [f.name for f in fields(part)])
        if self.energy is not None:
            doc.update(self.energy.to_dict())
        doc.update(self.extra)
        doc["warnings"] = list(self.warnings)
        order = self.key_order or _ORDER[self.kind]
        return {k: doc[k] for k in order if k in doc} | doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Result:
        """The record of a document (``to_dict``'s, or one stored by any earlier edgekit); unknown keys go to
        ``extra``. Raises ValueError for a document that is not a result (no target or model)."""
        if "target" not in doc or "model" not in doc:
            raise ValueError(f"not a result document: it has no target or model (keys: {sorted(doc)[:8]})")
        kind = cls.kind_of(doc)
        rest = dict(doc)
        rest.pop("measured", None)
        top = {name: rest.pop(name, None) for name in ("target", "model", "quant", "threads", "path", "xnnpack")}
        warnings = tuple(rest.pop("warnings", None) or ())
        energy = EnergyFigure.from_dict(rest)  # None when the document has no energy figure
        for key in ENERGY_KEYS if energy is not None else ():
            rest.pop(key, None)
        wanted = {Kind.MEASURED: ("figures", "rounds"), Kind.ESTIMATED: ("figures", "estimate_info"),
                  Kind.FAILED: ("failure",), Kind.FIT: ("figures", "estimate_info", "fit")}[kind]
        parts = {}
        for name in wanted:
            part = _PARTS[name]
            values = {f.name: _take(rest, f.name) for f in fields(part) if f.name in rest or f.name == "latency_ms"}
            if part is Figures:
                latency = values.get("latency_ms") or {}
                values["latency_ms"] = Latency(**{f.name: _tuple(f.name, latency.get(f.name))
                                                  for f in fields(Latency)})
            elif part is Estimate:
                values.setdefault("estimate_method", "")
            elif part is Rounds:
                values = {f.name: values.get(f.name) for f in fields(Rounds)} | values
            elif part is Failure:
                values.setdefault("error_type", "EdgekitError")
            elif part is Fit:
                values.setdefault("fits", False)
                values.setdefault("verdict", "")
            parts[name] = part(**values)
        return cls(kind=kind, warnings=warnings, energy=energy, extra=rest, key_order=tuple(doc), **top, **parts)


def is_failed(doc: Mapping[str, Any]) -> bool:
    """Whether a result document is a failure (its error instead of numbers)."""
    return Result.kind_of(doc) is Kind.FAILED


def is_measured(doc: Mapping[str, Any]) -> bool:
    """Whether a result document's figures were measured (not estimated, not failed)."""
    return Result.kind_of(doc) is Kind.MEASURED


def error_of(doc: Mapping[str, Any]) -> Failure | None:
    """A failure report's error -- a result that failed, or a child process's or device runner's
    ``{"error", "error_type"}`` document -- else None."""
    if "error" not in doc:
        return None
    return Failure(error=doc["error"], error_type=doc.get("error_type") or "EdgekitError")


def _take(doc: dict, key: str):
    return _tuple(key, doc.pop(key, None))


def _tuple(key: str, value):
    return tuple(value) if key in _SEQUENCES and isinstance(value, list | tuple) else value


def _put(doc: dict, record, names) -> None:
    """Each field of ``record`` into ``doc`` (sequences as lists); an optional field only when it is set."""
    optional = {f.name for f in fields(record) if f.metadata.get(_OPTIONAL)}
    for name in names:
        value = getattr(record, name)
        if value is None and name in optional:
            continue
        if isinstance(value, Latency):
            doc[name] = {}
            _put(doc[name], value, [f.name for f in fields(Latency)])
            continue
        doc[name] = list(value) if name in _SEQUENCES and isinstance(value, tuple) else value
