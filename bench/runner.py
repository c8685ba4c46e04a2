"""One benchmark configuration (:class:`Config`) and the fresh process that measures one round of it.

``bench.service`` runs the rounds and collects what they measured; :func:`run_child` runs one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgekit import child_process
from edgekit.child_process import Child, ChildKilled
from edgekit.errors import ModelFileError


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


def run_child(cfg: Config, timeout: float = 900) -> dict:
    """Measure ``cfg`` in a fresh interpreter (``bench.child``, through ``edgekit.child_process``); its error is
    raised here as the same type, and a crash of the runtime as a ModelFileError."""
    from bench.gpu import NoGpuError

    child = Child(module="bench.child", what=f"benchmarking {cfg.model} ({cfg.quant})",
                  env={"TF_CPP_MIN_LOG_LEVEL": "3"}, capture=True, timeout=timeout,
                  timeout_hint="lower --runs or --min-seconds", errors=(NoGpuError,))
    try:
        return child_process.run(child, asdict(cfg))
    except ChildKilled as err:
        raise ModelFileError(f"the TFLite runtime crashed ({err.name}) on {cfg.path!r}; the "
                             "file is likely corrupt or uses an op this runtime cannot run") from None
