"""Robust summaries of latency samples: min, mean, std, percentiles and the coefficient of variation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds, over the samples given (the calls of one run). ``cv`` is their std / mean, the spread within
    the run, not ``bench.protocol``'s CV between rounds; ``iqr`` the spread between p25 and p75. Whether a result
    is noisy is ``bench.protocol``'s one rule (its 95% interval wider than ``REL_HALFWIDTH`` of p50)."""

    runs: int
    min: float
    mean: float
    std: float
    p50: float
    p90: float
    p99: float
    max: float
    iqr: float
    cv: float

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(samples_ms) -> LatencyStats:
    """Summarize at least one sample; the std is the sample std (ddof=1) when there are two or more."""
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    p25, p50, p75, p90, p99 = (float(v) for v in np.percentile(x, [25, 50, 75, 90, 99]))
    return LatencyStats(int(x.size), float(x.min()), mean, std, p50, p90, p99, float(x.max()), p75 - p25,
                        std / mean if mean > 0 else 0.0)
