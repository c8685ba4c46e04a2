"""A :class:`edgekit.result.Result`'s document, both ways: the JSON (``--json``), CSV and results-database format.

:func:`encode` writes each kind's keys in the order its documents have always had them (or a read document's own
order), and :func:`decode` reads any document edgekit wrote, of any version, into a Result's fields; keys the
record does not type go to ``extra``. This is the only place that works out what a document is from its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.energy import EnergyFigure
from edgekit.result_parts import OPTIONAL, EstimateInfo, Failure, Figures, FitVerdict, Kind, Latency, Rounds

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

_PARTS = {"figures": Figures, "rounds": Rounds, "estimate_info": EstimateInfo, "failure": Failure, "fit": FitVerdict}
_SEQUENCES = {"round_ms", "round_ids", "warmup_runs", "reasons", "ci95"}  # tuples here, lists in a document


def kind_of(doc: Mapping[str, Any]) -> Kind:
    """What a result document is, from its keys (documents from every edgekit version)."""
    if "error" in doc:
        return Kind.FAILED
    if "verdict" in doc:
        return Kind.FIT
    return Kind.MEASURED if doc.get("measured", True) else Kind.ESTIMATED


def encode(result) -> dict[str, Any]:
    """``result``'s document (``measured`` is true for a measurement only)."""
    doc: dict[str, Any] = {"target": result.target, "model": result.model, "quant": result.quant,
                           "threads": result.threads}
    _put(doc, result, ("xnnpack",))
    doc["measured"] = result.measured
    doc["path"] = result.path
    for name in _PARTS:
        part = getattr(result, name)
        if part is not None:
            _put(doc, part, [f.name for f in fields(part)])
    if result.energy is not None:
        doc.update(result.energy.to_dict())
    doc.update(result.extra)
    doc["warnings"] = list(result.warnings)
    order = result.key_order or _ORDER[result.kind]
    return {k: doc[k] for k in order if k in doc} | doc


def decode(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Result fields of a document (``encode``'s, or one stored by any earlier edgekit); unknown keys go to
    ``extra``. Raises ValueError for a document that is not a result (no target or model)."""
    if "target" not in doc or "model" not in doc:
        raise ValueError(f"not a result document: it has no target or model (keys: {sorted(doc)[:8]})")
    kind = kind_of(doc)
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
            values["latency_ms"] = Latency(**{f.name: _tuple(f.name, latency.get(f.name)) for f in fields(Latency)})
        elif part is EstimateInfo:
            values.setdefault("estimate_method", "")
        elif part is Rounds:
            values = {f.name: values.get(f.name) for f in fields(Rounds)} | values
        elif part is Failure:
            values.setdefault("error_type", "EdgekitError")
        elif part is FitVerdict:
            values.setdefault("fits", False)
            values.setdefault("verdict", "")
        parts[name] = part(**values)
    return dict(kind=kind, warnings=warnings, energy=energy, extra=rest, key_order=tuple(doc), **top, **parts)


def _take(doc: dict, key: str):
    return _tuple(key, doc.pop(key, None))


def _tuple(key: str, value):
    return tuple(value) if key in _SEQUENCES and isinstance(value, list | tuple) else value


def _put(doc: dict, record, names) -> None:
    """Each field of ``record`` into ``doc`` (sequences as lists); an optional field only when it is set."""
    optional = {f.name for f in fields(record) if f.metadata.get(OPTIONAL)}
    for name in names:
        value = getattr(record, name)
        if value is None and name in optional:
            continue
        if isinstance(value, Latency):
            doc[name] = {}
            _put(doc[name], value, [f.name for f in fields(Latency)])
            continue
        doc[name] = list(value) if name in _SEQUENCES and isinstance(value, tuple) else value
