"""LiteRT's ``benchmark_model`` (tensorflow ``lite/tools/benchmark``): the command line edgekit runs on a phone, and
a parser for what it prints.

The tool prints, among its log lines (``INFO: `` or logcat's ``I tflite  : `` in front, depending on the version):

    count=50 first=32891 curr=33978 min=32641 max=34005 avg=33209.4 std=450   (newer: p5=... median=... p95=...)
    Inference timings in us: Init: 855, First inference: 49060, Warmup (avg): 34825.1, Inference (avg): 33209.4
    Peak memory footprint (MB): init=0 overall=12.8672      (older: Memory footprint delta from the start ...)

The last ``count=`` line is the timed runs (the one before it the warm-up). Numbers may be printed as ``2.95e+06``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"([0-9.]+(?:e[+-]?[0-9]+)?)"
_COUNT = re.compile(rf"count={_NUM}\s+first={_NUM}\s+curr={_NUM}\s+min={_NUM}\s+max={_NUM}\s+avg={_NUM}\s+"
                    rf"std={_NUM}(?:\s+p5={_NUM}\s+median={_NUM}\s+p95={_NUM})?")
_TIMINGS = re.compile(rf"Inference timings in us: Init: {_NUM}, First inference: {_NUM}, Warmup \(avg\): {_NUM}, "
                      rf"Inference \(avg\): {_NUM}")
_MEMORY = re.compile(rf"(?:Peak memory footprint|Memory footprint delta from the start of the tool) \(MB\): "
                     rf"init={_NUM} overall={_NUM}")
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: {_NUM}")
_ERROR = re.compile(r"^(?:E tflite\s*:\s*|ERROR: )(.+)$", re.MULTILINE)


class BenchmarkOutputError(ValueError):
    """The output holds no timing summary: the tool failed (its own message, shortened) or is not benchmark_model."""


@dataclass(frozen=True)
class BenchmarkRun:
    """One run of ``benchmark_model``, in ms (its microseconds / 1000) and MB."""

    runs: int
    init_ms: float
    first_ms: float
    warmup_avg_ms: float
    avg_ms: float
    min_ms: float
    max_ms: float
    std_ms: float
    median_ms: float | None  # newer versions print p5/median/p95
    peak_memory_mb: float | None  # --report_peak_memory_footprint, else the footprint delta's "overall"
    emulated: bool = False  # printed by edgekit's test double, not the real tool: never a phone's speed

    @property
    def summary_ms(self) -> float:
        """The round's figure: the median of its runs where the tool prints one, else their mean."""
        return self.median_ms if self.median_ms is not None else self.avg_ms


def _f(text: str) -> float:
    return float(text)


def parse(output: str) -> BenchmarkRun:
    """Parse ``benchmark_model``'s output.

    Raises:
        BenchmarkOutputError: no ``Inference timings`` line; the message is the tool's last error line, if any.
    """
    timings = _TIMINGS.search(output)
    if timings is None:
        errors = [e.strip() for e in _ERROR.findall(output)]
        tail = errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1]
        raise BenchmarkOutputError(f"benchmark_model printed no timings: {tail[:200]}")
    counts = _COUNT.findall(output[:timings.start()])
    init, first, warm, avg = (_f(x) / 1e3 for x in timings.groups())
    if counts:
        c = counts[-1]
        runs, lo, hi, std = int(_f(c[0])), _f(c[3]) / 1e3, _f(c[4]) / 1e3, _f(c[6]) / 1e3
        median = _f(c[8]) / 1e3 if c[8] else None
    else:
        runs, lo, hi, std, median = 0, avg, avg, 0.0, None
    peak = _PEAK.search(output)
    memory = _MEMORY.search(output)
    mb = _f(peak.group(1)) if peak else _f(memory.group(2)) if memory else None
    return BenchmarkRun(runs, init, first, warm, avg, lo, hi, std, median, mb, is_test_double(output))


@dataclass(frozen=True)
class BenchmarkArgs:
    """The flags edgekit passes; each round is one run of the tool with these."""

    threads: int
    warmup_runs: int = 5
    num_runs: int = 50
    use_gpu: bool = False
    use_xnnpack: bool = True

    def argv(self, binary: str, graph: str) -> list[str]:
        args = [binary, f"--graph={graph}", f"--num_threads={self.threads}", f"--warmup_runs={self.warmup_runs}",
                f"--num_runs={self.num_runs}", "--report_peak_memory_footprint=true"]
        if self.use_gpu:
            return [*args, "--use_gpu=true"]
        return [*args, f"--use_xnnpack={'true' if self.use_xnnpack else 'false'}"]


TEST_DOUBLE_MARK = "edgekit-test-double: not LiteRT's benchmark_model"  # tests/adb_phone.py prints it


def is_test_double(output: str) -> bool:
    """Whether the output came from edgekit's test double (its results are marked emulated)."""
    return TEST_DOUBLE_MARK in output
