"""Run a ``.tflite`` file in TensorFlow Lite Micro's own interpreter (the ``tflite-micro`` wheel) and measure
the tensor arena it needs.

TFLM is a runtime, like LiteRT: it is imported only in a child process (``python -m edgekit.runtime.tflm``),
because an arena far too small for a model makes the C++ allocator crash the whole process, and because
``print_allocations()`` writes to the C++ stderr, which only a child's pipe can capture.

The arena: the child allocates with a generous arena and reads the RecordingMicroAllocator's report
("Arena allocation total/head/tail N bytes"). That total is then verified: a run with exactly that arena must
allocate and invoke, and one 16 bytes (the arena's alignment) smaller must fail. The head is the tensors the
memory planner lays out (activations, inputs, outputs); the tail is the interpreter's persistent state
(TfLiteEvalTensor and node structs, kernels' persistent buffers): its fixed overhead inside the arena.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit import tempdirs
from edgekit.errors import MissingExtra

ALIGNMENT = 16  # TFLM aligns the arena's start and each buffer to 16 bytes (MicroArenaBufferAlignment)
_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_CHILD_S = 300


class TflmMissingError(MissingExtra):
    """The ``tflite-micro`` package (the ``[mcu]`` extra) is not installed."""

    def __init__(self):
        super().__init__("mcu", "TensorFlow Lite Micro (tflite-micro) is not installed; microcontroller targets "
                                "need it")


@dataclass(frozen=True)
class TflmRun:
    """One run in a child process: did it allocate and invoke, what it reported, and the outputs."""

    ok: bool
    error: str | None  # TFLM's own message, e.g. "Hybrid models are not supported on TFLite Micro."
    crashed: bool = False  # the child died on a signal (the allocator aborts on a far too small arena)
    allocations: dict = field(default_factory=dict)  # {"total": N, "head": N, "tail": N}
    outputs: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class ArenaMeasure:
    arena_bytes: int  # the smallest arena that allocates, as TFLM's recording allocator reported it
    head_bytes: int  # tensors laid out by the memory planner
    tail_bytes: int  # the interpreter's persistent structures: its fixed overhead inside the arena
    verified: bool  # exactly arena_bytes allocated and invoked, and 16 bytes less did not
    method: str = ("TFLM RecordingMicroAllocator total with a generous arena, then re-run at exactly that size "
                   "(allocates) and 16 bytes less (does not)")

    def to_dict(self) -> dict:
        return {"arena_bytes": self.arena_bytes, "head_bytes": self.head_bytes, "tail_bytes": self.tail_bytes,
                "verified": self.verified, "method": self.method}


def tflm_version() -> str:
    """The installed ``tflite-micro`` version; raises TflmMissingError naming the extra when it is absent."""
    from importlib import metadata

    try:
        return metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        raise TflmMissingError() from None


def run_tflm(path: str | Path, *, arena_size: int, inputs: list[np.ndarray] | None = None, outputs: int = 0,
             timeout: float = _CHILD_S) -> TflmRun:
    """Allocate ``path`` in TFLM with ``arena_size`` bytes and, given ``inputs``, invoke it once and read
    ``outputs`` output tensors."""
    tflm_version()
    with tempfile.TemporaryDirectory(prefix=tempdirs.prefix("tflm")) as tmp:
        argv = [sys.executable, "-m", "edgekit.runtime.tflm", str(path), str(int(arena_size)), tmp, str(outputs)]
        if inputs is not None:
            np.savez(Path(tmp) / "inputs.npz", *inputs)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return TflmRun(False, f"TFLM did not finish in {timeout:g} s")
        allocations = {m[1]: int(m[2]) for m in _TOTAL.finditer(proc.stderr)}
        if proc.returncode < 0:
            return TflmRun(False, f"TFLM crashed (signal {-proc.returncode}): {_last_error(proc.stderr)}", True)
        if proc.returncode != 0:
            return TflmRun(False, _last_error(proc.stderr), allocations=allocations)
        out = Path(tmp) / "outputs.npz"
        outputs = ()
        if out.exists():
            with np.load(out) as saved:
                outputs = tuple(saved[f"arr_{i}"] for i in range(len(saved.files)))
        return TflmRun(True, None, allocations=allocations, outputs=outputs)


def _last_error(stderr: str) -> str:
    """TFLM's reason: its first kernel or allocator message, else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and "RecordingMicroAllocator" not in ln]
    for ln in lines:
        if "not supported" in ln or "Didn't find op" in ln or "Failed to" in ln or "failed to" in ln:
            return ln
    return lines[-1] if lines else "no message"


def generous_arena(model_bytes: int) -> int:
    """An arena large enough to record what a model needs: 10x the file (the wheel's own default) or 16 MiB."""
    return max(10 * model_bytes, 16 << 20)


def measure_arena(path: str | Path, first: TflmRun) -> ArenaMeasure:
    """Verify the arena ``first`` (a successful run with a generous arena) recorded, by two more runs."""
    total = first.allocations["total"]
    exact = run_tflm(path, arena_size=total, inputs=None)
    smaller = run_tflm(path, arena_size=total - ALIGNMENT, inputs=None)
    return ArenaMeasure(total, first.allocations.get("head", 0), first.allocations.get("tail", 0),
                        exact.ok and not smaller.ok)


def _child(args: list[str]) -> int:
    """In the child: load, allocate, invoke on the saved inputs, save outputs, print the allocations."""
    from tflite_micro.python.tflite_micro import runtime

    path, arena, tmp = args[0], int(args[1]), Path(args[2])
    try:
        interp = runtime.Interpreter.from_file(path, arena_size=arena)
        inputs = tmp / "inputs.npz"
        if inputs.exists():
            with np.load(inputs) as saved:
                for i in range(len(saved.files)):
                    interp.set_input(saved[f"arr_{i}"], i)
            interp.invoke()
            outs = [np.array(interp.get_output(i)) for i in range(int(args[3]))]
            np.savez(tmp / "outputs.npz", *outs)
        sys.stderr.flush()
        interp.print_allocations()
        return 0
    except (RuntimeError, ValueError) as err:
        print(f"edgekit-tflm: {err}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
