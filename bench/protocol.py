"""The measurement protocol: interleaved rounds, stopping rules, the interval, and how a result is marked.

Pure logic, no I/O: the caller passes a ``measure_round(key)`` function that runs one round (one fresh process) and
returns that round's median latency in ms (or None when that configuration failed: it is measured no more),
and a ``clock``; tests pass fakes of both.

- Every configuration is measured in rounds, interleaved (A B C A B C ...), so drift in the machine's load
  hits every configuration alike. ``min_rounds`` rounds always run.
- Then, while some configuration's 95% interval is wider than ``rel_halfwidth`` (5%) of its p50, only those
  configurations get another interleaved round, as long as the next round fits in the time ``budget_s``
  (counted from the first round) and ``max_rounds`` is not reached. Whatever is still that wide is noisy.
- p50 is the median of the round medians. Its 95% interval is distribution-free, from order statistics:
  ``[x(k), x(n+1-k)]`` with the largest ``k`` such that ``P(Binomial(n, 1/2) < k) <= 0.025``, so it covers
  the true median with probability >= 95% whatever the distribution (Conover, *Practical Nonparametric
  Statistics*, 3rd ed., section 3.2). Below 6 rounds no such interval exists (even ``[min, max]`` covers
  only ``1 - 2**(1-n)``); the result then carries ``[min, max]`` and is noisy.
- How two results compare, and what may be said of it, is ``bench.compare``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

from edgekit.errors import UsageError

REL_HALFWIDTH = 0.05  # an interval wider than +-5% of p50 is noisy
LEVEL = 0.95
MAX_ROUNDS = 1000  # each a fresh process (half a second or more): past this a typo, not a plan


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """How many rounds and how long: ``min_rounds`` always, more for noisy ones up to ``budget_s``."""

    min_rounds: int = 6
    max_rounds: int = 30
    budget_s: float = 60.0
    rel_halfwidth: float = REL_HALFWIDTH

    def __post_init__(self) -> None:
        for value in (self.min_rounds, self.max_rounds):
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise UsageError(f"--rounds must be a whole number, got {value!r}")
        if self.min_rounds < 1:
            raise UsageError(f"--rounds must be 1 or more, got {self.min_rounds}; 6 or more give a 95% interval")
        if self.min_rounds > MAX_ROUNDS:
            raise UsageError(f"--rounds must be {MAX_ROUNDS} or fewer, got {self.min_rounds} (each round is a fresh "
                             f"process: {MAX_ROUNDS} take ten minutes or more per config)")
        if not _positive(self.budget_s):
            raise UsageError(f"--budget must be a positive number of seconds, got {_shown(self.budget_s)} (finite "
                             "and > 0)")
        if self.max_rounds < self.min_rounds:
            raise UsageError(f"at most {self.max_rounds} rounds, fewer than --rounds {self.min_rounds}; "
                             f"lower --rounds")
        if not _positive(self.rel_halfwidth):
            raise UsageError(f"rel_halfwidth must be a finite number > 0, got {_shown(self.rel_halfwidth)}")

    def check_budget(self, round_s: float) -> None:
        """Refuse a budget shorter than one round (``round_s``: the least time a round's timing takes)."""
        if not (isinstance(round_s, Real) and math.isfinite(round_s)):
            raise UsageError(f"a round's time must be a finite number of seconds, got {_shown(round_s)}")
        if self.budget_s < round_s:
            raise UsageError(f"--budget {self.budget_s:g} s is shorter than one round ({round_s:g} s of timing "
                             "alone); give --budget of at least that, e.g. --budget 60")


def _positive(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _shown(value) -> str:
    return str(value) if isinstance(value, Integral) else f"{value:g}" if isinstance(value, Real) else repr(value)


@dataclass(frozen=True)
class Step:
    """One round of one configuration: the round number (0-based) and the configuration's key."""

    round: int
    key: Hashable


def interleave(keys: Sequence[Hashable], rounds: int, first_round: int = 0) -> list[Step]:
    """A B C A B C ...: ``rounds`` rounds of every key, in order."""
    return [Step(r, k) for r in range(first_round, first_round + rounds) for k in keys]


@dataclass
class RoundLog:
    """What the protocol measured: each key's round medians in ms, in round order, and its round numbers."""

    medians: dict = field(default_factory=dict)  # key -> [ms, ...]
    round_ids: dict = field(default_factory=dict)  # key -> [round number, ...]
    order: list = field(default_factory=list)  # the Steps as run
    seconds: float = 0.0
    dropped: set = field(default_factory=set)  # keys whose measure_round returned None (failed): measured no more


def run_rounds(keys: Sequence[Hashable], measure_round: Callable[[Hashable], float | None], protocol: Protocol,
               clock: Callable[[], float], *,
               on_final: Callable[[Hashable, list[int]], None] | None = None) -> RoundLog:
    """Measure every key ``protocol.min_rounds`` times interleaved, then re-measure the noisy ones in budget.
    A key whose ``measure_round`` returns None is dropped.

    ``on_final(key, round_ids)`` is called as soon as a key will be measured no more: once its interval has settled
    (after the first ``min_rounds``, or after a further round), and for the rest when the rounds end."""
    out = RoundLog({k: [] for k in keys}, {k: [] for k in keys})
    start = clock()
    spent: dict = {k: 0.0 for k in keys}

    def one(step: Step) -> None:
        if step.key in out.dropped:
            return
        t0 = clock()
        value = measure_round(step.key)
        if value is None:
            out.dropped.add(step.key)
            return
        out.medians[step.key].append(float(value))
        spent[step.key] += clock() - t0
        out.round_ids[step.key].append(step.round)
        out.order.append(step)

    final: set = set()

    def finish(done: Sequence[Hashable]) -> None:
        for k in done:
            if k not in out.dropped and k not in final:
                final.add(k)
                if on_final is not None:
                    on_final(k, out.round_ids[k])

    for step in interleave(keys, protocol.min_rounds):
        one(step)
    r = protocol.min_rounds
    while r < protocol.max_rounds:
        wide = [k for k in keys if k not in out.dropped and not settled(out.medians[k], protocol.rel_halfwidth)]
        finish([k for k in keys if k not in wide])
        next_s = sum(spent[k] / len(out.medians[k]) for k in wide)
        if not wide or clock() - start + next_s > protocol.budget_s:
            break
        for step in interleave(wide, 1, r):
            one(step)
        r += 1
    finish(keys)
    out.seconds = clock() - start
    return out


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("no values")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _binom_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def order_rank(n: int, level: float = LEVEL) -> int | None:
    """The 1-based rank ``k`` of the lower bound ``x(k)`` of the median's interval, or None when n is too small."""
    alpha = (1 - level) / 2
    k = 0
    while k + 1 <= n // 2 and _binom_cdf(k, n) <= alpha:  # P(B <= k) = P(B < k + 1)
        k += 1
    return k or None


def median_interval(xs: Sequence[float], level: float = LEVEL) -> tuple[float, float, bool]:
    """(lo, hi, exact): the order-statistic interval of the median; ``exact`` False means too few values,
    and ``(min, max)`` comes back."""
    s = sorted(xs)
    k = order_rank(len(s), level)
    if k is None:
        return s[0], s[-1], False
    return s[k - 1], s[len(s) - k], True


def settled(xs: Sequence[float], rel_halfwidth: float = REL_HALFWIDTH) -> bool:
    """Whether the interval of ``xs``' median is exact and no wider than ``rel_halfwidth`` of the median."""
    if not xs:
        return False
    lo, hi, exact = median_interval(xs)
    return exact and (hi - lo) / 2 <= rel_halfwidth * median(xs)


@dataclass(frozen=True)
class LatencySummary:
    """A configuration's latency over its rounds, in ms."""

    p50: float
    ci95: tuple[float, float]
    rounds: int
    cv: float  # std / mean of the round medians (0 with one round)
    noisy: bool

    def to_dict(self) -> dict:
        return {"p50": sig(self.p50), "ci95": [sig(self.ci95[0]), sig(self.ci95[1])], "rounds": self.rounds,
                "cv": round(self.cv, 4), "noisy": self.noisy}


def sig(value: float, digits: int = 5) -> float:
    """``value`` to ``digits`` significant figures (a LeNet-5 call of 0.0072 ms keeps its precision)."""
    return float(f"{value:.{digits}g}")


def summarize_rounds(round_medians: Sequence[float], rel_halfwidth: float = REL_HALFWIDTH) -> LatencySummary:
    """p50 = median of the round medians, its 95% interval, the CV between rounds, and the noisy flag."""
    xs = [float(x) for x in round_medians]
    lo, hi, _ = median_interval(xs)
    mean = sum(xs) / len(xs)
    cv = 0.0
    if len(xs) > 1 and mean > 0:
        cv = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) / mean
    return LatencySummary(median(xs), (lo, hi), len(xs), cv, not settled(xs, rel_halfwidth))


