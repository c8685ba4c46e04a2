"""One device over ssh: make a temporary directory, copy the models and the device runner, run each
configuration there, fetch its JSON, and clean up.

The device runner is ``bench/loop.py`` (the loop ``bench.child`` runs here), ``targets/device_facts.py`` and
``targets/device_run.py``: the standard library, numpy and the TFLite runtime, nothing of edgekit. Every phase
(connect, copy, run, fetch) raises ``SshError`` naming the host and the phase; what was measured before a
failure is kept in ``HostOutcome.results``.
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.protocol import Protocol
from edgekit import tempdirs
from edgekit.errors import EdgekitError
from edgekit.result import error_of
from targets import hints
from targets.ssh import Host, SshError, SshOptions, run, scp_get_argv, scp_put_argv, shell_line, ssh_argv

REPO = Path(__file__).resolve().parents[1]
RUNNER_FILES = (REPO / "bench" / "loop.py", REPO / "bench" / "machine.py", REPO / "bench" / "outputs.py",
                REPO / "bench" / "energy_pi5.py",
                REPO / "targets" / "device_facts.py", REPO / "targets" / "device_run.py")
CONNECT_S = 30  # a whole ssh round trip for the small phases; the TCP connect itself is bounded at 10 s
_TMPDIR = re.compile(r"/[A-Za-z0-9._/-]+")
_NOT_FOUND = 127


@dataclass(frozen=True)
class RemoteConfig:
    """One run on the device: which file, and the ``bench.runner.Config`` fields that apply there."""

    path: str
    threads: int | None
    runs: int
    min_seconds: float
    warmup: int
    xnnpack: bool
    delegate: str | None
    check_outputs: bool = False  # also run the fixed input once and return the outputs (bench.outputs)

    def argv(self, model: str, out: str, deadline: float) -> list[str]:
        args = [model, "--out", out, "--runs", str(self.runs), "--min-seconds", repr(self.min_seconds),
                "--warmup", str(self.warmup), "--deadline", repr(deadline)]
        args += ["--threads", str(self.threads)] if self.threads else []
        args += [] if self.xnnpack else ["--no-xnnpack"]
        args += ["--check-outputs"] if self.check_outputs else []
        return args + (["--delegate", self.delegate] if self.delegate else [])


@dataclass
class HostOutcome:
    """What one host gave: the measurements in order, and the error that stopped it, if any."""

    host: str
    measured: list[tuple[RemoteConfig, list[dict]]] = field(default_factory=list)
    error: EdgekitError | None = None


class Session:
    """A temporary directory on one device. Use as a context manager; it removes the directory on exit."""

    def __init__(self, host: Host, opts: SshOptions, python: str = "python3", timeout: float = 600):
        self.host, self.opts, self.python, self.timeout = host, opts, python, timeout
        self.dir: str | None = None
        self._names: dict[str, str] = {}

    def _ssh(self, phase: str, *words: str, timeout: float = CONNECT_S, stdin: str | None = None):
        return run(ssh_argv(self.host, shell_line(*words), self.opts), host=self.host.text, phase=phase,
                   timeout=timeout, stdin=stdin)

    def __enter__(self) -> Session:
        proc = self._ssh("connect", "mktemp", "-d", "-t", "edgekit.XXXXXX")  # in $TMPDIR, else /tmp
        text = proc.stdout.strip()
        if proc.returncode != 0 or not _TMPDIR.fullmatch(text):
            raise SshError(self.host.text, "connect", f"mktemp -d failed ({proc.stderr.strip() or text!r})")
        self.dir = text
        return self

    def __exit__(self, *exc) -> None:
        if self.dir is not None:
            try:
                self._ssh("cleanup", "rm", "-rf", "--", self.dir, timeout=15)
            except EdgekitError:
                pass  # a dropped host keeps its /tmp/edgekit.* until reboot

    def copy(self, models: list[str]) -> None:
        """The runner and each model (with its ``.json`` sidecar) as model-N.tflite: no user name reaches
        the remote shell."""
        sources = [str(p) for p in RUNNER_FILES]
        with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("scp")) as staging:
            for i, path in enumerate(dict.fromkeys(models)):
                self._names[path] = f"model-{i}.tflite"
                sources += _stage(path, self._names[path], Path(staging))
            run(scp_put_argv(self.host, sources, self.dir, self.opts), host=self.host.text, phase="copy",
                timeout=self.timeout)

    def facts(self) -> dict:
        """The device's facts (``device_facts.py``: board, CPU, identity), read before anything is measured."""
        line = shell_line("cd", self.dir) + " && " + shell_line(self.python, "device_facts.py")
        proc = run(ssh_argv(self.host, line, self.opts), host=self.host.text, phase="run", timeout=self.timeout)
        if proc.returncode == _NOT_FOUND:
            raise SshError(self.host.text, "run", f"the remote Python {self.python!r} was not found; "
                           + hints.missing(hints.PYTHON) + ", or pass --remote-python PATH")
        try:
            return json.loads(proc.stdout.strip().splitlines()[-1])["facts"]
        except (IndexError, ValueError, KeyError, TypeError):
            tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise SshError(self.host.text, "run", f"device_facts.py printed no facts (exit {proc.returncode}): "
                           f"{tail}") from None

    def run_round(self, cfg: RemoteConfig, n: int) -> dict:
        """Run one configuration (phase run) and fetch its JSON (phase fetch)."""
        out = f"result-{n}.json"
        line = shell_line("cd", self.dir) + " && " + shell_line(self.python, "device_run.py",
                                                                 *cfg.argv(self._names[cfg.path], out, self.timeout))
        proc = run(ssh_argv(self.host, line, self.opts), host=self.host.text, phase="run",
                   timeout=self.timeout + CONNECT_S)
        if proc.returncode == _NOT_FOUND:
            raise SshError(self.host.text, "run", f"the remote Python {self.python!r} was not found; "
                           + hints.missing(hints.PYTHON) + ", or pass --remote-python PATH")
        if proc.returncode not in (0, 3):
            tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise SshError(self.host.text, "run", f"the device runner failed (exit {proc.returncode}): {tail}")
        with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("fetch")) as tmp:
            local = str(Path(tmp) / out)
            run(scp_get_argv(self.host, f"{self.dir}/{out}", local, self.opts), host=self.host.text,
                phase="fetch", timeout=CONNECT_S)
            try:
                doc = json.loads(Path(local).read_text())
            except ValueError as err:
                raise SshError(self.host.text, "fetch", f"the result is not JSON ({err})") from None
        if error_of(doc) is not None:
            raise runner_error(self.host.text, self.python, doc)
        return doc


def _stage(path: str, name: str, staging: Path) -> list[str]:
    """Links under the remote names, so that scp copies each file under its new name."""
    out = []
    for src, dst in ((Path(path), name), (Path(f"{path}.json"), f"{name}.json")):
        if src.is_file():
            (staging / dst).symlink_to(src.resolve())
            out.append(str(staging / dst))
    return out


def runner_error(host: str, python: str, doc: dict) -> EdgekitError:
    """The device runner's ``{"error", "error_type"}`` as a message with the fix."""
    error_type, text = doc.get("error_type"), doc["error"]
    fix = {"no_numpy": hints.NUMPY, "no_runtime": hints.RUNTIME, "delegate": hints.EDGETPU}.get(error_type)
    if fix is not None:
        return SshError(host, "run", f"{hints.missing(fix, python)} ({text})")
    if error_type == "deadline":
        return SshError(host, "run", f"{text}; raise --timeout or lower --runs/--min-seconds")
    return SshError(host, "run", text)


class Stopped(EdgekitError):
    """The caller asked the host to stop (``measure_host``'s ``stop``); what was finished is kept."""


def measure_host(host: Host, configs: list[RemoteConfig], opts: SshOptions, *, python: str = "python3",
                 timeout: float = 600, on_result: Callable[[RemoteConfig, list[dict]], None] | None = None,
                 protocol: Protocol, identify: Callable[[dict], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> HostOutcome:
    """Every configuration on one host. Never raises an EdgekitError: it ends up in ``outcome.error``.

    ``identify(facts)``, when given, sees the device's facts before anything is measured and may refuse it
    (``targets.identity``) by raising. ``stop()``, when given, is asked before each step on the device (each
    round, each configuration); once it says True the host ends with :class:`Stopped`, its session removing
    its folder on the device as always. A stop that asks is never lost mid-round: the round ends first.

    Each configuration is measured in rounds as ``protocol`` says (one run of the device runner, a fresh
    process, per round), and what comes back per configuration is the list of round documents, each with its
    ``round`` number.
    """
    outcome = HostOutcome(host.text)

    def step() -> None:
        if stop is not None and stop():
            raise Stopped(f"{host.text}: stopped")

    try:
        with Session(host, opts, python, timeout) as session:
            session.copy([c.path for c in configs])
            if identify is not None:
                identify(session.facts())
            _rounds(session, configs, protocol, outcome, on_result, step)
    except EdgekitError as err:
        outcome.error = err
    return outcome


def _rounds(session: Session, configs: list[RemoteConfig], protocol: Protocol, outcome: HostOutcome,
            on_result, step: Callable[[], None]) -> None:
    """Each configuration in rounds through ``bench.service.measure`` with this session as its runner, one
    configuration after the other, so each result is kept as soon as its rounds are done (a device is not
    shared, and a dropped connection keeps what was finished). The time budget is shared; the first error
    stops the host."""
    from bench.service import OnFailure, Plan, Policy, measure

    runs = itertools.count()

    def finish(i: int, docs: list[dict], round_ids: list[int]) -> list[dict]:
        for doc, r in zip(docs, round_ids, strict=True):
            doc["round"] = r
        return docs

    def keep(i: int, docs: list[dict]) -> None:
        outcome.measured.append((configs[i], docs))
        if on_result is not None:
            on_result(configs[i], docs)

    def one_round(cfg: RemoteConfig, _n: int) -> dict:
        step()
        return session.run_round(cfg, next(runs))

    measure(configs, Plan(finish=finish), protocol=protocol, runner=one_round,
            policy=Policy(on_failure=OnFailure.STOP), store=keep, interleave=False)
