"""What ``edgekit bench`` is asked to do, as frozen keyword-only records, and what it hands back.

Shared by ``edgekit.app.bench`` (local and estimated) and ``edgekit.app.remote`` (over ssh).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import UsageError
from edgekit.limits import PORT_MAX, finite, whole
from edgekit.result import Result

# A remote run's timeout ends in poll(), whose timeout is a 32-bit count of milliseconds (24.8 days).
MAX_TIMEOUT_S = 2_000_000.0
DELEGATES = ("cpu", "gpu")  # --delegate on a phone: XNNPACK on the CPU, or LiteRT's GPU delegate
MAX_THREADS = 1024  # more than the cores of any machine edgekit measures; TFLite starts a thread for each

# Called before each configuration is measured: (description, index, total).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, kw_only=True)
class LoopArgs:
    """How each configuration is timed: ``rounds`` rounds (more for noisy ones, within ``budget`` seconds),
    each in a fresh process timing ``runs`` calls and ``min_seconds`` after at least ``warmup`` untimed ones."""

    runs: int = 20
    min_seconds: float = 0.5
    warmup: int = 1
    rounds: int = 6
    budget: float = 60.0
    xnnpack: bool = True
    profile_ops: bool = False

    def __post_init__(self) -> None:
        """Each number on its own: a NaN, an infinity or a count out of range is never meant."""
        from bench.loop import MAX_SECONDS  # a round's timed loop stops there, whatever --min-seconds says

        whole("--runs", self.runs)
        whole("--warmup", self.warmup, low=0)
        finite("--min-seconds", self.min_seconds, low=0, high=MAX_SECONDS, what="a number of seconds",
               why=f"a round's timed loop stops at {MAX_SECONDS:g} s")
        self.protocol()

    def check(self) -> None:
        """Refuse loop settings that cannot work together (checked where they apply: estimates ignore them)."""
        self.protocol().check_budget(self.min_seconds)

    def protocol(self):
        """The ``bench.protocol.Protocol`` these options ask for; a bad --rounds or --budget is a UsageError (a budget
        shorter than one round is :meth:`check`'s)."""
        from bench.protocol import Protocol

        return Protocol(min_rounds=self.rounds, max_rounds=max(30, self.rounds), budget_s=self.budget)

    def config_args(self, *, profile: bool = True) -> dict:
        """The keyword arguments of ``bench.runner.Config`` these options set."""
        args = {"runs": self.runs, "min_seconds": self.min_seconds, "warmup": self.warmup, "xnnpack": self.xnnpack}
        return {**args, "profile_ops": self.profile_ops} if profile else args


@dataclass(frozen=True, kw_only=True)
class RemoteArgs:
    """The devices to measure on over ssh, and how to reach them."""

    hosts: tuple[str, ...] = ()
    hosts_file: Path | None = None
    port: int | None = None
    identity: Path | None = None
    ssh_config: Path | None = None
    insecure_no_host_key_check: bool = False
    remote_python: str = "python3"
    timeout: float = 600
    check_outputs: bool = False  # compare the device's outputs on a fixed input with this machine's
    serials: tuple[str, ...] = ()  # phones over adb (--serial; "all": every attached one)
    benchmark_binary: Path | None = None  # LiteRT's android_arm64 benchmark_model (--benchmark-binary)
    delegate: str = "cpu"  # on a phone: "cpu" (XNNPACK) or "gpu" (benchmark_model --use_gpu=true)

    def __post_init__(self) -> None:
        whole("--port", self.port, high=PORT_MAX)
        if self.delegate not in DELEGATES:
            raise UsageError(f"--delegate must be one of {', '.join(DELEGATES)}, got {self.delegate!r}")
        finite("--timeout", self.timeout, low=0, low_open=True, high=MAX_TIMEOUT_S, what="",
               why="seconds; ssh waits through poll(), which counts 32-bit milliseconds")

    @property
    def given(self) -> bool:
        return bool(self.hosts or self.hosts_file)

    def refuse_without_hosts(self) -> None:
        """Refuse ssh options without --host rather than ignore them."""
        given = [flag for flag, value, default in (
            ("--port", self.port, None), ("--identity", self.identity, None), ("--ssh-config", self.ssh_config, None),
            ("--insecure-no-host-key-check", self.insecure_no_host_key_check, False),
            ("--remote-python", self.remote_python, "python3"), ("--timeout", self.timeout, 600),
            ("--check-outputs", self.check_outputs, False)) if value != default]
        if given:
            raise UsageError(f"{', '.join(given)} apply only with --host or --hosts; add the device to measure on")


@dataclass(frozen=True, kw_only=True)
class BenchRequest:
    """Everything ``edgekit bench`` was asked to do."""

    models: tuple[str, ...]
    target: str = "cpu"
    quant: str | None = None
    threads: str | None = None
    loop: LoopArgs = field(default_factory=LoopArgs)
    estimate: bool = False
    remote: RemoteArgs = field(default_factory=RemoteArgs)
    db: Path | None = None
    cluster: str | None = None  # HOST:PORT of a Ray head: measure on its lab's devices (edgekit.app.bench_lab)


@dataclass(frozen=True, kw_only=True)
class BenchOutcome:
    """What a bench run produced. ``kind`` is "measured", "estimated", "remote" or "mcu"."""

    kind: str
    results: list[Result]
    store_path: Path | None = None
    run_id: str | None = None
    remote: object | None = None  # edgekit.app.remote.FleetOutcome for kind == "remote"
    recovery: object | None = None  # bench.recovery.Recovery: the results the database could not take, if any


def parse_threads(text: str | None, target: str) -> list[int | None]:
    """``--threads 1,2,4`` as a list; the GPU target takes none."""
    from edgekit.app.sources import parse_list

    if target == "gpu":
        if text is not None:
            raise UsageError("--threads does not apply to --target gpu (the GPU accelerator sets its own); drop it")
        return [None]
    values = parse_list(text or "1", "--threads", lambda s: int(s))
    if any(not 1 <= v <= MAX_THREADS for v in values):
        raise UsageError(f"--threads must be whole numbers >= 1 and <= {MAX_THREADS}, e.g. 1,2,4; got {text!r}")
    return values


def make_configs(sources, threads: list[int | None], target: str, args: dict) -> list:
    """One ``bench.runner.Config`` per source x thread count."""
    from bench.runner import Config

    return [Config(str(s.path), s.model, s.quant, target, t, **args) for s in sources for t in threads]
