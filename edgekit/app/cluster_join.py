"""``edgekit cluster join``: a lab host joins the cluster as a Ray node, each of its devices (from its hosts file)
a resource of that node, and the conversion resource with ``--convert`` (``edgekit.app.cluster``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edgekit.app.cluster import CONNECT_S, CONVERT, auth_env, cluster_address, reachable, resource_of
from edgekit.errors import EdgekitError, UsageError


def read_lab_hosts(path: Path) -> list[tuple[str, str]]:
    """The lab hosts file: ``TARGET HOST`` per line (``rpi4 pi@pi-1.lab``), ``#`` comments; each target known
    and a device target, each host a valid ssh host, named once."""
    from targets.registry import Reach, get_target
    from targets.ssh import parse_host

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise UsageError(f"cannot read --hosts {str(path)!r}: {err.strerror}") from None
    out: list[tuple[str, str]] = []
    for n, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            raise UsageError(f"--hosts {str(path)!r} line {n}: {line.strip()!r} must be TARGET HOST, e.g. "
                             "'rpi4 pi@pi-1.lab'")
        try:
            target = get_target(words[0])
        except UsageError as err:
            raise UsageError(f"--hosts {str(path)!r} line {n}: {err}") from None
        if target.reach is not Reach.SSH:
            raise UsageError(f"--hosts {str(path)!r} line {n}: {target.key} is not a device reached over ssh "
                             "(rpi4, rpi5, coral-usb, coral-devboard or your own target)")
        host = parse_host(words[1]).text
        if host in (h for _, h in out):
            raise UsageError(f"--hosts {str(path)!r} line {n}: {host} is named twice; one line per device")
        out.append((target.key, host))
    if not out:
        raise UsageError(f"--hosts {str(path)!r} names no device; write one 'TARGET HOST' per line")
    return out


def join_argv(address: str, devices: list[tuple[str, str]], *, convert: bool, ray_bin: str) -> list[str]:
    """``ray start`` for a lab host: one resource per device, and the conversion resource with ``convert``."""
    resources = {resource_of(target, host): 1 for target, host in devices}
    if convert:
        resources[CONVERT] = 1
    argv = [ray_bin, "start", "--address", address, "--resources", json.dumps(resources)]
    return argv if convert else [*argv, "--num-cpus", "1"]  # a lab-only node takes measurements, not conversions


def join(address: str | None, hosts: Path | None, *, convert: bool) -> list[str]:
    """Start a Ray node on this machine and join it to the cluster; returns the command that was run."""
    from edgekit.errors import require_extra

    address = cluster_address(address)
    devices = read_lab_hosts(hosts) if hosts is not None else []
    if not devices and not convert:
        raise UsageError("a node joins with --hosts (its devices), --convert (conversions), or both")
    require_extra("ray", needed_for="edgekit cluster join")  # after the input, so a bad file is named first
    auth_env()
    here = reachable(address, CONNECT_S)
    ray_bin = str(Path(sys.executable).with_name("ray"))
    argv = [*join_argv(address, devices, convert=convert, ray_bin=ray_bin), "--node-ip-address", here]
    env = {**os.environ, "RAY_task_oom_retries": os.environ.get("RAY_task_oom_retries", "0")}  # no OOM loops
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        tail = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        raise EdgekitError(f"'ray start' failed (exit {proc.returncode}): {tail[-1] if tail else 'no message'}")
    return argv
