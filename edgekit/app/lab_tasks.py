"""The tasks of a device lab's measurements (``edgekit.app.lab`` places them): they run on the lab's nodes, each
with the model's bytes shipped from the driver, and ask the driver's :class:`StopFlag` before every round.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REMOTE_PYTHON_ENV = "EDGEKIT_REMOTE_PYTHON"  # the devices' Python, set on the node by 'edgekit cluster join'
ASK_S = 10.0


class StopFlag:
    """The driver's Ctrl-C, as the lab's tasks see it."""

    def __init__(self):
        self.stopped = False

    def set(self) -> None:
        self.stopped = True

    def is_set(self) -> bool:
        return self.stopped


def _asker(flag) -> Callable[[], bool]:
    import ray

    unreachable = []

    def stopped() -> bool:
        if unreachable:
            return False
        try:
            return bool(ray.get(flag.is_set.remote(), timeout=ASK_S))
        except Exception:  # the flag's node is gone: measure on (a driver that is gone ends the job's tasks itself)
            unreachable.append(True)
            return False

    return stopped


def device_task(cfg, data: bytes, sidecar: bytes | None, host: str, target: str, protocol, flag) -> dict:
    """On the node that owns ``host``: one configuration's rounds there over ssh, the device checked first."""
    import ray

    from targets.identity import check
    from targets.registry import get_target
    from targets.remote import measure_host
    from targets.remote_result import remote_config
    from targets.ssh import SshOptions, parse_host

    stopped = _asker(flag)
    node, started = ray.get_runtime_context().get_node_id(), time.time()
    if stopped():
        return {"rounds": None, "error": "stopped", "stopped": True, "node": node, "started": started,
                "ended": time.time()}
    named = get_target(target)
    with tempfile.TemporaryDirectory(prefix="edgekit-cell-") as tmp:
        path = _write(Path(tmp), data, sidecar)
        rcfg = remote_config(replace(cfg, path=str(path)), named.delegate)
        outcome = measure_host(parse_host(host), [rcfg], SshOptions.from_env(), protocol=protocol,
                               python=os.environ.get(REMOTE_PYTHON_ENV) or "python3",
                               identify=lambda facts: check(named, facts, host), stop=stopped)
    rounds = outcome.measured[0][1] if outcome.measured else None
    return {"rounds": rounds, "error": None if outcome.error is None else str(outcome.error),
            "stopped": rounds is None and stopped(), "node": node, "started": started, "ended": time.time()}


def host_task(cfgs: list, files: list[tuple[bytes, bytes | None]], protocol, flag) -> dict:
    """On a conversion node that converts nothing meanwhile: the configurations in interleaved rounds there, each
    round in a fresh process, as ``edgekit bench`` measures. Returns each one's rounds (or its error)."""
    import ray

    from bench.service import Plan, measure

    node, started = ray.get_runtime_context().get_node_id(), time.time()
    stopped = _asker(flag)
    out: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="edgekit-host-") as tmp:
        here = [replace(c, path=str(_write(Path(tmp) / str(i), *files[i]))) for i, c in enumerate(cfgs)]

        def runner(cfg, n):
            if stopped():
                raise KeyboardInterrupt
            from bench.service import local_round

            return local_round(cfg, n)

        jobs = Plan(finish=lambda i, docs, ids: {"rounds": docs, "ids": ids},
                    fail=lambda i, err: {"error": str(err)})
        try:
            measure(here, jobs, protocol=protocol, runner=runner, store=lambda i, doc: out.__setitem__(i, doc))
        except KeyboardInterrupt:
            pass
    return {"results": out, "node": node, "started": started, "ended": time.time()}


def _write(folder: Path, data: bytes, sidecar: bytes | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.tflite"
    path.write_bytes(data)
    if sidecar is not None:
        Path(f"{path}.json").write_bytes(sidecar)
    return path


def task_files(cfg) -> tuple[bytes, bytes | None]:
    """The model file and its sidecar (if any) on the driver, as bytes to ship with a task."""
    sidecar = Path(f"{cfg.path}.json")
    return Path(cfg.path).read_bytes(), sidecar.read_bytes() if sidecar.is_file() else None
