"""The parts of a :class:`edgekit.result.Result`: what a result is (:class:`Kind`) and the typed groups of its
figures, protocol, estimate, failure and fit verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = ["OPTIONAL", "EstimateInfo", "Failure", "Figures", "FitVerdict", "Kind", "Latency", "Rounds"]


class Kind(StrEnum):
    """What a result is."""

    MEASURED = "measured"  # timed on this machine, its GPU or a device
    ESTIMATED = "estimated"  # the cost model's figure, nothing run
    FAILED = "failed"  # the config could not be measured or estimated: its error instead of numbers
    FIT = "fit"  # a microcontroller: TFLite Micro's fit verdict (arena measured here), latency estimated


OPTIONAL = "optional"  # field metadata: the key is left out of the document when the value is None


_OPT = MappingProxyType({OPTIONAL: True})


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
class EstimateInfo:
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
class FitVerdict:
    """A microcontroller's verdict (``targets.mcu``): does the model fit its RAM and flash, and why not."""

    fits: bool
    verdict: str
    reasons: tuple[str, ...] = ()
    ram: Mapping[str, Any] | None = None  # arena_bytes (measured in TFLite Micro), arena_budget_bytes, measured
    flash: Mapping[str, Any] | None = None  # flash_bytes (estimated), flash_budget_bytes, estimated
