"""An ``edgekit bench`` request parsed once into a frozen plan: the target, how it is served, the thread counts, the
rounds protocol and the models x quantization modes, which every branch (local, gpu, remote, estimate, mcu,
android, lab) takes as it is.

:func:`make_plan` reads the target and checks every option against how it is served, without touching the
outside world; each branch then checks what it reaches (the database, hosts, phones, a cluster) before asking
for :attr:`BenchPlan.items`, which converts zoo models and reads files once, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bench.protocol import Protocol
from edgekit.app.bench_request import MAX_THREADS, BenchRequest
from edgekit.app.sources import BenchItem, parse_list, resolve
from edgekit.errors import UsageError
from targets.registry import Method, Reach, Target, get_target


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
        """Each model x quantization mode (``edgekit.app.sources.resolve``), resolved on first use only."""
        return tuple(resolve(list(self.request.models), None if self.quants is None else list(self.quants)))

    def configs(self, *, profile: bool = True) -> list:
        """One ``bench.runner.Config`` per item x thread count; ``profile``: whether --profile-ops is passed on."""
        from bench.runner import Config

        args = self.request.loop.config_args(profile=profile)
        return [Config(str(s.path), s.model, s.quant, self.target.key, t, **args)
                for s in self.items for t in self.threads]


def make_plan(request: BenchRequest) -> BenchPlan:
    """The plan for ``request``; every option that cannot go with how the target is served is a UsageError here."""
    target = get_target(request.target)
    remote, loop = request.remote, request.loop
    quants = parse_list(request.quant, "--quant", str.lower)
    if request.cluster is not None:
        _check_lab(request, target)
        return BenchPlan(request=request, target=target, method=Method.REMOTE, on_lab=True,
                         threads=parse_threads(request.threads, "cpu"), protocol=loop.protocol(),
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
                     protocol=loop.protocol(), quants=_tuple(quants))


def _tuple(values: list | None) -> tuple | None:
    return None if values is None else tuple(values)


def _check_method(request: BenchRequest, target: Target, method: Method) -> None:
    """Refuse the options that do not apply to how ``target`` is served."""
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
