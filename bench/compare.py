"""What a comparison of two results may say: B's latency over A's with its 95% interval, and that in words.

Two configurations measured in the same interleaved run are compared paired by round (the ratio of their medians
in each round, then the order-statistic interval of ``bench.protocol`` on those ratios); results from different
runs by a bootstrap over rounds of the ratio of medians (fixed seed, so it is reproducible).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from bench.protocol import LEVEL, PAIRED_MIN_ROUNDS, median, median_interval

BOOTSTRAP_RESAMPLES = 2000
SEED = 0


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """B over A from rounds run interleaved: the median of per-round ratios and its order-statistic interval."""
    n = min(len(a), len(b))
    ratios = [b[i] / a[i] for i in range(n)]
    lo, hi, _ = median_interval(ratios)
    return median(ratios), lo, hi


def bootstrap_ratio(a: Sequence[float], b: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = SEED, level: float = LEVEL) -> tuple[float, float, float]:
    """B over A from separate runs: median(b) / median(a) with a percentile bootstrap interval over rounds."""
    rng = random.Random(seed)
    stats = sorted(median(rng.choices(b, k=len(b))) / median(rng.choices(a, k=len(a))) for _ in range(resamples))
    alpha = (1 - level) / 2
    lo = stats[math.floor(alpha * (resamples - 1))]
    hi = stats[math.ceil((1 - alpha) * (resamples - 1))]
    return median(b) / median(a), lo, hi


def ratio(a: Sequence[float], b: Sequence[float], *, paired: bool) -> tuple[float, float, float]:
    """B's latency over A's with its 95% interval: (ratio, lo, hi)."""
    return paired_ratio(a, b) if paired else bootstrap_ratio(a, b)


def result_ratio(a: dict, b: dict) -> tuple[float, float, float, str] | None:
    """B's latency over A's, two result records: (ratio, lo, hi, method), or None when either has fewer than
    2 rounds. Paired by round number when both come from one interleaved run, else bootstrapped."""
    if len(a.get("round_ms") or ()) < 2 or len(b.get("round_ms") or ()) < 2:
        return None
    xa = dict(zip(a.get("round_ids") or range(len(a["round_ms"])), a["round_ms"], strict=True))
    xb = dict(zip(b.get("round_ids") or range(len(b["round_ms"])), b["round_ms"], strict=True))
    common = sorted(xa.keys() & xb.keys())
    if a.get("run_id") is not None and a.get("run_id") == b.get("run_id") and len(common) >= PAIRED_MIN_ROUNDS:
        return (*ratio([xa[i] for i in common], [xb[i] for i in common], paired=True), "paired by round")
    return (*ratio(a["round_ms"], b["round_ms"], paired=False), "bootstrap over rounds")


def speed_words(name_a: str, name_b: str, ratio_lo_hi: tuple[float, float, float]) -> str:
    """``B over A`` latency as a sentence about A's speed: "int8 is 2.1x faster than fp32 (1.9–2.3x)".

    ``name_a`` is the subject: with latency ratio r = B / A > 1, A is r times faster than B. When the
    interval contains 1 there is "no measurable difference".
    """
    r, lo, hi = ratio_lo_hi
    if lo <= 1.0 <= hi:
        return f"no measurable difference between {name_a} and {name_b} ({name_b}/{name_a} latency {r:.2f}, 95% " \
               f"interval {lo:.2f}–{hi:.2f})"
    if r >= 1:
        return f"{name_a} is {_x(r)}x faster than {name_b} ({_x(lo)}–{_x(hi)}x)"
    return f"{name_a} is {_x(1 / r)}x slower than {name_b} ({_x(1 / hi)}–{_x(1 / lo)}x)"


def _x(v: float) -> str:
    """2.137 -> "2.1", 12.6 -> "13", 1.04 -> "1.04" (enough digits to tell it from 1)."""
    return f"{v:.2f}" if v < 1.1 else f"{v:.1f}" if v < 10 else f"{v:.0f}"
