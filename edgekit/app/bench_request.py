"""What ``edgekit bench`` is asked to do, as frozen keyword-only records, parsed once into the plan every branch
takes, and what it hands back.

The CLI builds a :class:`BenchRequest`; :func:`make_plan` reads its target and checks every option against how
that target is served, without touching the outside world, into a :class:`BenchPlan`: the target, how it is
served, the thread counts, the rounds protocol and the models x quantization modes. Each branch (local, gpu,
remote, estimate, mcu, android, lab) then checks what it reaches (the database, hosts, phones, a cluster) before
asking for :attr:`BenchPlan.items`, which converts zoo models and reads files once, on first use.

Over 250 lines, one job: the request and its parse (records, their checks and the plan made of them); split, the
plan would call back into the request's records at every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from edgekit.errors import UsageError
from edgekit.limits import PORT_MAX, finite, whole
from edgekit.result import Result

if TYPE_CHECKING:
    from bench.protocol import Protocol
    from edgekit.app.sources import BenchItem
    from targets.registry import Method, Target

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
    protocol: Protocol = field(init=False, repr=False, compare=False)  # what these options ask for, made once

    def __post_init__(self) -> None:
        """Each number on its own: a NaN, an infinity or a count out of range is never meant; then the
        ``bench.protocol.Protocol`` they ask for (a bad --rounds or --budget is a UsageError there; a budget shorter
        than one round is :meth:`check`'s)."""
        from bench.loop import MAX_SECONDS  # a round's timed loop stops there, whatever --min-seconds says
        from bench.protocol import Protocol

        whole("--runs", self.runs)
        whole("--warmup", self.warmup, low=0)
        finite("--min-seconds", self.min_seconds, low=0, high=MAX_SECONDS, what="a number of seconds",
               why=f"a round's timed loop stops at {MAX_SECONDS:g} s")
        object.__setattr__(self, "protocol", Protocol(min_rounds=self.rounds, max_rounds=max(30, self.rounds),
                                                      budget_s=self.budget))

    def check(self) -> None:
        """Refuse loop settings that cannot work together (checked where they apply: estimates ignore them)."""
        self.protocol.check_budget(self.min_seconds)

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
    """What a bench run produced. ``how``: "measured", "estimated", "remote" or "mcu"."""

    how: str
    results: list[Result]
    store_path: Path | None = None
    run_id: str | None = None
    remote: object | None = None  # edgekit.app.remote.FleetOutcome for how == "remote"
    recovery: object | None = None  # bench.recovery.Recovery: the results the database could not take, if any


@dataclass(frozen=True, kw_only=True)
class BenchPlan:
    """What ``edgekit bench`` will do. ``method`` is how ``target`` is served (``Target.method``); ``on_lab``, that
    it is measured on a Ray cluster's devices (``--cluster``). ``threads`` is empty for a microcontroller."""

    request: BenchRequest
    target: Target
    method: Method
    on_lab: bool
    threads: tuple[int | None, ...]
    protocol: Protocol
    quants: tuple[str, ...] | None

    @cached_property
    def items(self) -> tuple[BenchItem, ...]:
        """Each model x quantization mode (``edgekit.app.sources.bench_items``), resolved on first use only."""
        from edgekit.app.sources import bench_items

        return tuple(bench_items(list(self.request.models), None if self.quants is None else list(self.quants)))

    def configs(self, *, profile: bool = True) -> list:
        """One ``bench.runner.Config`` per item x thread count; ``profile``: whether --profile-ops is passed on."""
        from bench.runner import Config

        args = self.request.loop.config_args(profile=profile)
        return [Config(str(s.path), s.model, s.quant, self.target.key, t, **args)
                for s in self.items for t in self.threads]


def make_plan(request: BenchRequest) -> BenchPlan:
    """The plan for ``request``; every option that cannot go with how the target is served is a UsageError here."""
    from targets.registry import Method, get_target

    target = get_target(request.target)
    remote, loop = request.remote, request.loop
    quants = parse_list(request.quant, "--quant", str.lower)
    if request.cluster is not None:
        _check_lab(request, target)
        return BenchPlan(request=request, target=target, method=Method.REMOTE, on_lab=True,
                         threads=parse_threads(request.threads, "cpu"), protocol=loop.protocol,
                         quants=_tuple(quants))
    method = target.method(host=remote.given or bool(remote.serials), estimate=request.estimate)
    _check_method(request, target, method)
    if method is Method.MCU:
        threads: list[int | None] = []
    elif method is Method.ESTIMATE:
        threads = [None] if request.threads is None else parse_threads(request.threads, "cpu")
    else:
        loop.check()
        text = request.threads or "4" if method is Method.ADB else request.threads
        threads = parse_threads(text, "gpu" if method is Method.GPU else "cpu")
    if method is Method.GPU and (not loop.xnnpack or loop.profile_ops):
        raise UsageError("--no-xnnpack and --profile-ops apply to --target cpu only")
    return BenchPlan(request=request, target=target, method=method, on_lab=False, threads=tuple(threads),
                     protocol=loop.protocol, quants=_tuple(quants))


def _tuple(values: list | None) -> tuple | None:
    return None if values is None else tuple(values)


def _check_method(request: BenchRequest, target: Target, method: Method) -> None:
    """Refuse the options that do not apply to how ``target`` is served."""
    from targets.registry import Method

    remote = request.remote
    if remote.delegate != "cpu" and method is not Method.ADB:
        raise UsageError(f"--delegate {remote.delegate} applies to a phone measured over adb (--target "
                         "android, or a phone target with --serial); for this machine's GPU use --target gpu")
    if method is Method.ADB or remote.serials or remote.benchmark_binary:
        if method is not Method.ADB or request.estimate or remote.given:
            raise UsageError("--serial and --benchmark-binary measure a phone over adb: use them with --target "
                             "android (or a phone target) and without --estimate or --host")
        return
    if method is Method.MCU:
        if remote.given or request.estimate:
            raise UsageError(f"--host and --estimate do not apply to {target.key}: a microcontroller is run in "
                             "TFLite Micro on this machine and its latency is always estimated; drop them")
        return
    if method is Method.REMOTE and remote.given:
        _check_remote(request, target)
        return
    remote.refuse_without_hosts()
    if method is Method.REMOTE:
        raise UsageError("--target auto identifies and measures a device given with --host; add --host, or use "
                         "--target cpu for this machine")


def _check_remote(request: BenchRequest, target: Target) -> None:
    """What --host cannot go with."""
    from targets.registry import Reach

    if request.estimate or request.loop.profile_ops:
        raise UsageError("--estimate and --profile-ops do not apply with --host; drop them")
    if target.reach is not Reach.SSH:
        raise UsageError(f"--host measures a device target (rpi4, rpi5, coral-usb, coral-devboard or your own), "
                         f"not {target.key!r}, which is this machine; drop --host")
    if request.remote.check_outputs and target.delegate is not None:
        raise UsageError(f"--check-outputs compares CPU outputs with this machine's; {target.key} runs on the "
                         f"{target.delegate} delegate, which this machine does not have; drop --check-outputs")


def _check_lab(request: BenchRequest, target: Target) -> None:
    """What --cluster cannot go with, refused before the cluster is reached."""
    from targets.registry import Reach

    if target.reach is not Reach.SSH:
        raise UsageError(f"--cluster measures a device target on the lab's devices (rpi4, rpi5, coral-usb, "
                         f"coral-devboard or your own), not {target.key!r}; drop --cluster to measure it here")
    remote, loop = request.remote, request.loop
    clashes = [flag for flag, on in (("--host/--hosts", remote.given), ("--serial", bool(remote.serials)),
                                     ("--estimate", request.estimate), ("--profile-ops", loop.profile_ops),
                                     ("--check-outputs", remote.check_outputs)) if on]
    if clashes:
        raise UsageError(f"{', '.join(clashes)} do not apply with --cluster (the lab's devices are its nodes' "
                         "to reach); drop them")
    loop.check()


def parse_threads(text: str | None, target: str) -> list[int | None]:
    """``--threads 1,2,4`` as a list; the GPU target takes none."""
    if target == "gpu":
        if text is not None:
            raise UsageError("--threads does not apply to --target gpu (the GPU accelerator sets its own); drop it")
        return [None]
    values = parse_list(text or "1", "--threads", lambda s: int(s))
    if any(not 1 <= v <= MAX_THREADS for v in values):
        raise UsageError(f"--threads must be whole numbers >= 1 and <= {MAX_THREADS}, e.g. 1,2,4; got {text!r}")
    return values


def parse_list(text: str | None, what: str, cast=str) -> list | None:
    """``"1,2,4"`` -> ``[1, 2, 4]``; an empty item or a bad value is a UsageError naming ``what``."""
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    try:
        if any(not s for s in items):
            raise ValueError
        return [cast(s) for s in items]
    except ValueError:
        raise UsageError(f"{what} must be a comma-separated list, got {text!r}") from None
