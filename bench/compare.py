"""Results' rounds read for people: the mark a table puts after a p50 (NOISY, or too few rounds for an interval),
and one result's latency over another's with its 95% interval, and that in words.

Two configurations measured in the same interleaved run are compared paired by round (the ratio of their medians
in each round, then the order-statistic interval of ``bench.protocol`` on those ratios); results from different
runs by a bootstrap over rounds of the ratio of medians (fixed seed, so it is reproducible).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from bench.protocol import LEVEL, median, median_interval
from edgekit.result import Result

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


PAIRED_MIN_ROUNDS = 6  # the fewest paired rounds with an exact 95% order-statistic interval
NOISY = "NOISY"
FEW_ROUNDS_NOTE = (f"no interval: fewer than {PAIRED_MIN_ROUNDS} rounds give no 95% interval of p50; the range "
                   "shown is the rounds' min–max")


def too_few_rounds(r: Result) -> bool:
    """A measured result with too few rounds for a 95% interval (its ``noisy`` flag says that, not noise)."""
    return r.noisy and (r.rounds.rounds or 1) < PAIRED_MIN_ROUNDS


def noisy_mark(r: Result, *, short: bool = False) -> str:
    """What a table puts after a p50: "NOISY" (the interval stayed wide), "2 rounds, no interval" (too few
    rounds for one; "no interval" where a rounds column says how many), or ""."""
    if too_few_rounds(r):
        rounds = r.rounds.rounds or 1
        return "no interval" if short else f"{rounds} round{'s' if rounds != 1 else ''}, no interval"
    return NOISY if r.noisy else ""


def result_ratio(a: Result, b: Result) -> tuple[float, float, float, str] | None:
    """B's latency over A's, two results: (ratio, lo, hi, method), or None when either has fewer than 2 rounds
    (or is no measurement). Paired by round number when both come from one interleaved run, else bootstrapped."""
    ra, rb = a.rounds, b.rounds
    if ra is None or rb is None or len(ra.round_ms or ()) < 2 or len(rb.round_ms or ()) < 2:
        return None
    xa = dict(zip(ra.round_ids or range(len(ra.round_ms)), ra.round_ms, strict=True))
    xb = dict(zip(rb.round_ids or range(len(rb.round_ms)), rb.round_ms, strict=True))
    common = sorted(xa.keys() & xb.keys())
    run = a.extra.get("run_id")
    if run is not None and run == b.extra.get("run_id") and len(common) >= PAIRED_MIN_ROUNDS:
        return (*ratio([xa[i] for i in common], [xb[i] for i in common], paired=True), "paired by round")
    return (*ratio(ra.round_ms, rb.round_ms, paired=False), "bootstrap over rounds")


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
