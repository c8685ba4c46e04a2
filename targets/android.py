"""Measure on a phone over adb (``targets.adb`` picks it and says what it is): push LiteRT's ``benchmark_model``
and the models to ``/data/local/tmp``, run each configuration there in rounds pinned to the biggest cores, and
clean up.

Every failure is an :class:`AdbError`, one line naming the serial and what to do. The temporary directory on the
phone is removed on the way out, Ctrl-C included (the ``finally`` of :func:`measure_phone`).
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.protocol import Protocol
from edgekit.errors import EdgekitError
from targets.adb import PROPS, AdbError, PhoneIdentity, check_identity, check_target, run_adb, state_error
from targets.benchmark_model import BenchmarkArgs, BenchmarkOutputError, parse

DEVICE_TMP = "/data/local/tmp"
CONTEXT = "adb shell"  # how every result here ran: a shell binary, not an app (docs/android.md)


def big_core_mask(max_freqs: dict[int, int], threads: int) -> str:
    """The taskset mask (hex) of the ``threads`` cores with the highest ``cpuinfo_max_freq``."""
    chosen = sorted(max_freqs, key=lambda c: (-max_freqs[c], c))[:max(1, threads)]
    return format(sum(1 << c for c in chosen), "x")


@dataclass
class PhoneOutcome:
    serial: str
    host: str = ""  # the serial again, for the fleet report
    identity: PhoneIdentity | None = None
    records: dict = field(default_factory=dict)  # governor, thermal and battery, before and after
    measured: list = field(default_factory=list)  # (config, round documents)
    error: EdgekitError | None = None


class Phone:
    """One phone's temporary directory; :meth:`close` removes it."""

    def __init__(self, serial: str, timeout: float = 600):
        self.serial, self.timeout = serial, timeout
        self.dir = f"{DEVICE_TMP}/edgekit-{uuid.uuid4().hex[:8]}"
        self.made = False

    def shell(self, line: str, *, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return run_adb("shell", line, serial=self.serial, timeout=timeout, check=check)

    def identify(self) -> PhoneIdentity:
        _state = run_adb("get-state", serial=self.serial, timeout=30, check=False)
        err = state_error(self.serial, _state.stdout.strip() or "offline")
        if err is not None:
            raise err
        props = {k: self.shell(f"getprop {k}").stdout.strip() for k in PROPS}
        return PhoneIdentity(self.serial, props)

    def max_freqs(self) -> dict[int, int]:
        out = self.shell("for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq; do "
                         "echo \"$f $(cat $f)\"; done", check=False).stdout
        freqs = {}
        for line in out.splitlines():
            path, _, value = line.partition(" ")
            core = path.split("/cpu")[-1].split("/")[0] if "/cpu" in path else ""
            if core.isdigit() and value.strip().isdigit():
                freqs[int(core)] = int(value)
        return freqs

    def records(self) -> dict:
        """cpufreq governor, thermal status and battery: recorded, not judged (docs/android.md)."""
        def text(line: str) -> str:
            return self.shell(line, check=False).stdout.strip()
        battery = text("dumpsys battery")
        info = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in battery.splitlines()) if v}
        thermal = text("dumpsys thermalservice")
        status = next((ln.split(":")[-1].strip() for ln in thermal.splitlines() if "Thermal Status" in ln), None)
        temp = info.get("temperature")
        return {"governor": text("cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or None,
                "thermal_status": status, "battery_temp_c": int(temp) / 10 if temp and temp.isdigit() else None,
                "charging": info.get("AC powered") == "true" or info.get("USB powered") == "true"}

    def push(self, local: Path, name: str) -> str:
        if not self.made:
            self.shell(f"mkdir -p {self.dir}")
            self.made = True
        remote = f"{self.dir}/{name}"
        proc = run_adb("push", str(local), remote, serial=self.serial, timeout=self.timeout, check=False)
        if proc.returncode != 0:
            text = (proc.stderr + proc.stdout).strip()
            if "No space left" in text:
                raise AdbError(f"{self.serial}: {DEVICE_TMP} is full; free space on the phone "
                               f"(adb shell rm {DEVICE_TMP}/...) and run again")
            raise AdbError(f"{self.serial}: adb push failed: {text.splitlines()[-1] if text else proc.returncode}")
        return remote

    def run(self, binary: str, graph: str, args: BenchmarkArgs, mask: str | None) -> tuple[str, object]:
        argv = args.argv(binary, graph)
        line = " ".join(shlex.quote(a) for a in argv)
        line = f"taskset {mask} {line}" if mask else line
        proc = self.shell(line + " 2>&1", timeout=self.timeout, check=False)
        try:
            return line, parse(proc.stdout)
        except BenchmarkOutputError as err:
            self.still_there()
            raise AdbError(f"{self.serial}: the model was rejected or the run failed (exit {proc.returncode}); "
                           f"{err}") from None

    def still_there(self) -> None:
        """Raise the unplugged phone's error when ``adb get-state`` no longer says ``device``."""
        state = run_adb("get-state", serial=self.serial, timeout=30, check=False)
        if state.returncode != 0 or state.stdout.strip() != "device":
            said = (state.stderr.strip() or state.stdout.strip() or "no answer").splitlines()[-1]
            raise AdbError(f"{self.serial}: the phone went away mid-run (adb get-state: {said}); reconnect it "
                           "and run again: what finished before is kept")

    def close(self) -> None:
        if self.made:
            try:
                self.shell(f"rm -rf {self.dir}", timeout=30, check=False)
            except EdgekitError:
                pass  # an unplugged phone keeps its directory; the message said what failed


@dataclass(frozen=True)
class PhoneConfig:
    path: str
    args: BenchmarkArgs


def measure_phone(serial: str, configs: list[PhoneConfig], binary: Path, *, protocol: Protocol,
                  on_result: Callable[[PhoneConfig, list[dict]], None] | None = None,
                  timeout: float = 600,
                  outcome_hook: Callable[[str, PhoneOutcome], None] | None = None,
                  target=None, stop: threading.Event | None = None) -> PhoneOutcome:
    """Every config on one phone, in rounds (one ``benchmark_model`` run each). Never raises an EdgekitError: it
    ends in ``outcome.error``, with what was measured before it kept. Ctrl-C still removes the phone's files.
    ``target``: the phone target it is measured as (checked against its getprop first; None: any phone).
    ``stop``: set by a fleet on Ctrl-C; this phone then ends after its current round, as on Ctrl-C.
    On Ctrl-C each config's finished rounds are kept, marked ``cut_short`` (``targets.android_result``)."""
    from bench.service import OnFailure, Plan, Policy, measure

    outcome = PhoneOutcome(serial)
    if outcome_hook is not None:
        outcome_hook(serial, outcome)
    phone = Phone(serial, timeout)
    try:
        outcome.identity = phone.identify()
        check_identity(outcome.identity)
        check_target(outcome.identity, target)
        freqs = phone.max_freqs()
        remote_bin = phone.push(binary, "benchmark_model")
        phone.shell(f"chmod 755 {remote_bin}")
        paths = dict.fromkeys(c.path for c in configs)
        graphs = {p: phone.push(Path(p), f"model-{i}.tflite") for i, p in enumerate(paths)}
        outcome.records["before"] = phone.records()

        def one(cfg: PhoneConfig, _n: int) -> dict:
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            mask = big_core_mask(freqs, cfg.args.threads) if freqs else None
            line, run = phone.run(remote_bin, graphs[cfg.path], cfg.args, mask)
            return {"samples_ms": [run.summary_ms], "run": run, "command": line, "taskset_mask": mask}

        def keep(i: int, docs: list[dict]) -> None:
            outcome.measured.append((configs[i], docs))
            if on_result is not None:
                on_result(configs[i], docs)

        def cut(i: int, docs: list[dict]) -> list[dict]:
            return [{**d, "cut_short": True} for d in docs]

        measure(configs, Plan(finish=lambda i, docs, ids: docs, cut=cut), protocol=protocol, runner=one,
                policy=Policy(on_failure=OnFailure.STOP), store=keep, interleave=True)
        outcome.records["after"] = phone.records()
    except EdgekitError as err:
        outcome.error = err
    finally:
        phone.close()
    return outcome
