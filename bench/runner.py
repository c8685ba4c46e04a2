"""Run each model x config in its own child process (``bench.child``) and collect what it measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.children import child_env
from edgekit.errors import EdgekitError, ModelFileError, UsageError
from edgekit.result import error_of

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Config:
    """One measurement: a file on a target with a thread count and XNNPACK on or off."""

    path: str
    model: str
    quant: str
    target: str = "cpu"
    threads: int | None = None
    xnnpack: bool = True
    runs: int = 50
    min_seconds: float = 1.0
    warmup: int = 1
    profile_ops: bool = False
    warmup_seconds: float = 2.0  # a round's warmup stops here even when the latency has not settled


def _error_types() -> dict:
    from bench.gpu import NoGpuError

    return {"UsageError": UsageError, "ModelFileError": ModelFileError, "NoGpuError": NoGpuError}


def run_child(cfg: Config, timeout: float = 900) -> dict:
    """Measure ``cfg`` in a fresh interpreter; a crash or an error in the child becomes an EdgekitError.

    The child ends with this process: Ctrl-C or SIGTERM here kills it (``subprocess.run``), and it gets SIGTERM
    when this process is killed outright (``edgekit.children``)."""
    env = child_env({**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                     "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.child"], input=json.dumps(asdict(cfg)),
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"benchmarking {cfg.model} ({cfg.quant}) took over {timeout:.0f} s; "
                           "lower --runs or --min-seconds") from None
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise ModelFileError(f"the TFLite runtime crashed ({name}) on {cfg.path!r}; the file is likely corrupt "
                             "or uses an op this runtime cannot run")
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EdgekitError(f"the benchmark process for {cfg.model} failed (exit {proc.returncode}): "
                           f"{tail[0]}") from None
    failure = error_of(doc)
    if failure is not None:
        raise _error_types().get(failure.error_type, EdgekitError)(failure.error)
    return doc
