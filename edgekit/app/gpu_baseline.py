"""The Keras baseline beside LiteRT's GPU accelerator, timed with bench's loop. Application layer: it joins
converters (which runs Keras) and bench (which times).

Keras picks its backend once per process, and ``edgekit bench`` may already have loaded it (with TensorFlow,
to convert), so each baseline runs in a fresh process, as a benchmark round does (``edgekit.child_process``; run
by hand, ``python -m edgekit.app.gpu_baseline`` reads one JSON request on stdin and writes one JSON object on
stdout). Each phase (import, build,
compile: the first call, warmup, timed) prints its time to stderr as it ends, so a run that hangs shows where.
"""

from __future__ import annotations

import sys
import time

from bench.loop import settle, time_calls
from bench.stats import summarize
from edgekit import child_process
from edgekit.errors import EdgekitError

MAX_SECONDS = 60.0  # the timed loop's limit: a baseline is one figure beside LiteRT's, not a study
IDLE_S = 0.3  # the idle baseline read before the timed loop, as bench.energy reads it beside a round


class PhaseClock:
    """Prints each phase's end to stderr as it happens (``phase NAME: 1.234 s (total 5.678 s)``), so a step that
    hangs shows where it stopped; keeps the durations for the result."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.start = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 3)
        self.last = now
        print(f"phase {name}: {self.seconds[name]:.3f} s (total {now - self.start:.3f} s)", file=self.stream,
              flush=True)


def keras_baseline(model: str, *, device: str = "gpu", backend: str | None = None, runs: int, warmup: int,
                   min_seconds: float, max_seconds: float = MAX_SECONDS) -> dict:
    """In this process: time a zoo model's ``model(x, training=False)`` at batch 1 (random weights).

    Args:
        model: a zoo name.
        device: ``"gpu"`` or ``"cpu"``.
        backend: ``"jax"``, ``"torch"`` or ``"tensorflow"``; None reads ``KERAS_BACKEND``, else the first
            installed backend that can run on ``device``.
        runs, warmup, min_seconds: the bench protocol (``bench.loop.time_calls``).
        max_seconds: the timed loop stops after this, even short of ``runs`` (warm-up stops after 2 s).

    Returns:
        The backend, its version, how it executes (jit, graph or eager), the target (gpu or cpu) and device
        name, first-call and steady-state latency (ms), each phase's seconds, provenance, ``measured: True``,
        and ``tf_imported`` (False proves that a JAX or PyTorch run never loaded TensorFlow).

    Each phase (import, build, compile: the first call, warmup, timed) prints its time to stderr as it ends.
    """
    from bench.provenance import provenance
    from converters.keras_gpu import keras_call

    clock = PhaseClock()
    run, info = keras_call(model, device=device, backend=backend, phase=clock)
    return {**provenance(), **info, "model": model, "measured": True, "batch": 1,
            **time_phases(run, clock, runs=runs, warmup=warmup, min_seconds=min_seconds, max_seconds=max_seconds,
                          sensor=device),
            "tf_imported": "tensorflow" in sys.modules}


def time_phases(run, clock: PhaseClock, *, runs: int, warmup: int, min_seconds: float, max_seconds: float,
                sensor: str = "gpu", nvml_module=None) -> dict:
    """The first call (``compile``), warm-up and timed loop of ``run``, each phase on ``clock``: the figures a
    baseline or the torchvision peer records. ``call_cv`` is the spread between the calls of this one run;
    ``noisy`` is bench.protocol's rule (p50's 95% interval wider than its setting) over those calls.

    The timed loop is read with ``sensor``'s energy counter (``gpu``: NVML; ``cpu``: RAPL, ``bench.energy``), with
    an idle baseline before it: the result carries the energy per inference above idle (one round), or why not.
    """
    from bench.energy import SensorUnavailable, figure_from_rounds, open_counter
    from bench.energy_pi5 import round_energy
    from bench.protocol import REL_HALFWIDTH, settled

    t0 = time.perf_counter()
    run()
    first_ms = (time.perf_counter() - t0) * 1e3
    clock("compile")
    warm = settle(run, min_runs=warmup)
    clock("warmup")

    def timed() -> list[float]:
        return time_calls(run, warmup=0, min_runs=runs, min_seconds=min_seconds, max_seconds=max_seconds)

    try:
        counter = open_counter(sensor, nvml_module=nvml_module)
    except SensorUnavailable as err:
        samples, energy = timed(), {"energy_unavailable": str(err)}
    else:
        try:
            samples, readings = round_energy(counter, timed, idle_s=IDLE_S, calls=len)
            energy = {"energy": readings}
        finally:
            counter.close()
    clock("timed")
    stats = summarize(samples).to_dict()
    return {"first_ms": round(first_ms, 3), "warmup_runs": warm["warmup_runs"], "runs": stats.pop("runs"),
            "call_cv": round(stats.pop("cv"), 4), "noisy": not settled(samples, REL_HALFWIDTH),
            "latency_ms": {k: round(v, 4) for k, v in stats.items()}, "phase_s": clock.seconds,
            **figure_from_rounds([energy]).to_dict()}


def baseline_in_child(model: str, *, device: str = "gpu", backend: str | None = None, runs: int, warmup: int,
                      min_seconds: float, timeout: float = 900) -> dict:
    """``keras_baseline`` in a fresh interpreter; its error comes back as the same EdgekitError type."""
    from converters.keras_gpu import NoBackendError

    request = {"model": model, "device": device, "backend": backend, "runs": runs, "warmup": warmup,
               "min_seconds": min_seconds}
    child = child_process.Child(module="edgekit.app.gpu_baseline", what=f"the Keras baseline for {model}",
                                env={"TF_CPP_MIN_LOG_LEVEL": "3"}, capture=True, timeout=timeout,
                                timeout_hint="lower --runs", errors=(NoBackendError,))
    return child_process.run(child, request)


def baselines(models: list[str], *, runs: int, warmup: int, min_seconds: float) -> list[dict]:
    """The Keras-on-GPU figure (or why there is none) for each model, in order: a result's ``baseline``."""
    from converters.keras_gpu import NoBackendError
    from edgekit.models.registry import MODEL_NAMES

    no_backend, out = None, []
    for model in models:
        if model not in MODEL_NAMES:
            out.append({"skipped": "a .tflite file has no Keras model to compare with"})
            continue
        if no_backend is None:
            try:
                out.append(baseline_in_child(model, runs=runs, warmup=warmup, min_seconds=min_seconds))
                continue
            except NoBackendError as err:
                no_backend = str(err)
            except EdgekitError as err:
                out.append({"skipped": f"the Keras baseline failed: {err}"})
                continue
        out.append({"skipped": no_backend})
    return out


def no_gpu_message(litert_reason: str) -> str:
    """One line naming everything looked for: LiteRT's GPU environment and each Keras backend's GPUs."""
    from converters.keras_gpu import describe

    return f"{litert_reason}; {describe('gpu')}. Use --target cpu, or run on a machine with a GPU and its drivers"


def _serve(request: dict, _progress) -> dict:
    return keras_baseline(request["model"], device=request.get("device", "gpu"), backend=request.get("backend"),
                          runs=request["runs"], warmup=request["warmup"], min_seconds=request["min_seconds"],
                          max_seconds=request.get("max_seconds", MAX_SECONDS))


if __name__ == "__main__":
    sys.exit(child_process.serve(_serve))
