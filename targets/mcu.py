"""Microcontroller targets: can a ``.tflite`` model run on a Cortex-M in TensorFlow Lite Micro, and what does
it need there? The model runs in TFLM's own interpreter on this machine (``edgekit.runtime.tflm``), so the
arena is measured, not guessed; flash and latency are estimated, and docs/mcu.md says how.

TFLM's rules checked before it runs (each also shows in the interpreter's own error):
- int8 (and int16x8) quantization or float; uint8 only where QUANTIZE ops convert a model's input or output.
  TFLM's kernels take no uint8 compute and no "hybrid" ops (float activations, 8-bit weights): tflite-micro
  tensorflow/lite/micro/kernels/conv_common.cc, fully_connected_common.cc ("Hybrid models are not supported
  on TFLite Micro.").
- static shapes: TFLM plans every buffer once, at allocation (tflite-micro docs/memory_management.md); a
  dynamic batch runs as 1, any other dynamic dimension is refused.
- the ops the interpreter resolves: the wheel registers every TFLM kernel, so "Didn't find op" means TFLM
  has no kernel for it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.analysis.tflite_graph import TensorInfo, TFLiteGraph, read_tflite
from edgekit.errors import UsageError
from edgekit.runtime.tflm import ArenaMeasure, TflmRun, generous_arena, measure_arena, run_tflm, tflm_version
from targets.registry import McuFigures, Target

# Flash for code, estimated from TFLM's README: "The core runtime just fits in 16 KB on an Arm Cortex M3 and,
# with enough operators to run a speech keyword detection model, takes up a total of 22 KB": the speech
# example's three kernels (DEPTHWISE_CONV_2D, FULLY_CONNECTED, SOFTMAX) took about 2 KB each.
RUNTIME_FLASH_BYTES = 16 << 10
KERNEL_FLASH_BYTES = 2 << 10
FLASH_METHOD = ("model file + 16 KiB TFLM core runtime + 2 KiB per distinct op kernel (TFLM README: 16 KB core, "
                "22 KB with the speech example's 3 kernels); CMSIS-NN kernels are larger, so est.")
RUN_LIMIT_FLASHES = 4  # files over 4x the flash are not run in TFLM: a 10x-the-file arena would be gigabytes
_QUANTIZE_OPS = {"QUANTIZE", "DEQUANTIZE"}
_WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"}


@dataclass(frozen=True)
class McuReport:
    model: str
    target: str
    quant: str
    fits: bool
    reasons: tuple[str, ...]  # why it does not fit, with numbers
    warnings: tuple[str, ...]
    ops: dict[str, int]
    arena: ArenaMeasure | None  # None when TFLM could not allocate the model at all
    model_bytes: int
    flash_bytes: int  # model + runtime + kernels, estimated
    mcu: McuFigures
    tflm_error: str | None  # the interpreter's own message when it refused the model

    def to_dict(self) -> dict:
        m = self.mcu
        return {"model": self.model, "target": self.target, "fits": self.fits, "reasons": list(self.reasons),
                "warnings": list(self.warnings), "quant": self.quant, "runtime": "tflite-micro",
                "arena_bytes": self.arena.arena_bytes if self.arena else None,
                "arena": self.arena.to_dict() if self.arena else None,
                "interpreter_overhead_bytes": self.arena.tail_bytes if self.arena else None,
                "arena_budget_bytes": m.arena_budget_bytes, "sram_bytes": m.sram_bytes,
                "flash_bytes": self.flash_bytes, "flash_estimated": True, "flash_method": FLASH_METHOD,
                "model_bytes": self.model_bytes, "flash_budget_bytes": m.flash_bytes, "ops": self.ops,
                "tflm_error": self.tflm_error, "board": m.board, "mhz": m.mhz}


def mcu_target(target: Target) -> Target:
    """The target, which must be a microcontroller one (cortex-m4, cortex-m7)."""
    if target.mcu is None:
        raise UsageError(f"{target.key!r} is not a microcontroller target; choose cortex-m4 or cortex-m7")
    return target


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def quant_of(graph: TFLiteGraph) -> str:
    """The arithmetic the model's compute ops do: int8, int16x8, uint8, fp32 or hybrid."""
    types = Counter(graph.tensors[op.inputs[0]].dtype for op in graph.ops
                    if op.opcode not in _QUANTIZE_OPS and op.inputs and op.inputs[0] >= 0)
    if any(_hybrid(op, graph.tensors) for op in graph.ops):
        return "hybrid"
    if not types:
        return "unknown"
    top = types.most_common(1)[0][0]
    return {"int8": "int8", "int16": "int16x8", "uint8": "uint8", "float32": "fp32"}.get(top, top)


def _hybrid(op, tensors: tuple[TensorInfo, ...]) -> bool:
    if op.opcode not in _WEIGHTED or len(op.inputs) < 2 or min(op.inputs[:2]) < 0:
        return False
    x, w = tensors[op.inputs[0]], tensors[op.inputs[1]]
    return x.dtype == "float32" and w.constant and w.dtype in ("int8", "uint8")


def rule_problems(graph: TFLiteGraph) -> list[str]:
    """TFLM's dtype and shape rules, read from the file before the interpreter sees it."""
    t = graph.tensors
    out = []
    uint8_ops = sorted({op.opcode for op in graph.ops if op.opcode not in _QUANTIZE_OPS
                        and any(i >= 0 and t[i].dtype == "uint8" for i in op.inputs + op.outputs)})
    if uint8_ops:
        out.append(f"uint8 quantization is not supported by TFLite Micro (int8 only): {', '.join(uint8_ops)} "
                   "compute in uint8; re-convert with --int8")
    hybrid = sorted({op.opcode for op in graph.ops if _hybrid(op, t)})
    if hybrid:
        out.append(f"hybrid ops (float activations, 8-bit weights) are not supported by TFLite Micro: "
                   f"{', '.join(hybrid)}; re-convert with --int8 (full integer)")
    dyn = [x for x in t if any(d < 0 for d in x.shape_signature[1:])]
    if dyn:
        shape = "x".join(str(d) for d in dyn[0].shape_signature)
        out.append(f"dynamic shapes are not supported by TFLite Micro: {len(dyn)} tensors, e.g. {dyn[0].name!r} is "
                   f"{shape}; convert with a fixed input size")
    return out


def _custom_ops(graph: TFLiteGraph, error: str | None) -> str:
    """TFLM names a missing custom kernel only as "CUSTOM"; add the model's custom codes (builtins are upper case)."""
    if "op code CUSTOM" not in (error or ""):
        return ""
    names = sorted({op.opcode for op in graph.ops if not op.opcode.isupper()})
    return f" (the model's custom ops: {', '.join(names)}; TFLM has no kernel for them)" if names else ""


def fixed_inputs(graph: TFLiteGraph) -> list[np.ndarray]:
    """One deterministic input per model input: uniform [0, 1) floats, quantized with the tensor's parameters."""
    from edgekit.runtime.quant import quantize

    rng = np.random.default_rng(0)
    out = []
    for i in graph.inputs:
        t = graph.tensors[i]
        shape = tuple(max(d, 1) for d in t.shape)
        x = rng.random(shape, dtype=np.float32)
        detail = {"dtype": np.dtype(t.dtype), "quantization_parameters": {
            "scales": np.asarray(t.scale, np.float32), "zero_points": np.asarray(t.zero_point, np.int64)}}
        out.append(quantize(x, detail))
    return out


def _flash(graph: TFLiteGraph) -> int:
    return graph.file_bytes + RUNTIME_FLASH_BYTES + KERNEL_FLASH_BYTES * len({op.opcode for op in graph.ops})


def examine(path: str | Path, target: Target) -> tuple[McuReport, TflmRun | None, TFLiteGraph]:
    """The check, and the TFLM run on :func:`fixed_inputs` behind it (None when the rules refused the model)."""
    tgt = mcu_target(target)
    tflm_version()  # without the [mcu] extra: one line naming it, before any work
    path = Path(path)
    graph = read_tflite(path)
    reasons = rule_problems(graph)
    run, arena, skipped = _run(path, graph, tgt, reasons)
    reasons += _budget_reasons(graph, arena, tgt)
    quant = quant_of(graph)
    warnings = skipped + _warnings(quant, arena)
    if any(graph.tensors[i].dtype == "uint8" for i in graph.inputs + graph.outputs) and quant != "uint8":
        warnings.insert(0, "uint8 input/output: QUANTIZE ops in the model convert it to and from int8, which "
                           "TFLite Micro supports; the compute is int8")
    report = McuReport(path.name, tgt.key, quant, not reasons, tuple(reasons), tuple(warnings),
                       dict(Counter(op.opcode for op in graph.ops)), arena, graph.file_bytes, _flash(graph), tgt.mcu,
                       None if run is None or run.ok else run.error)
    return report, run, graph


def _run(path: Path, graph: TFLiteGraph, tgt: Target, reasons: list[str]
         ) -> tuple[TflmRun | None, ArenaMeasure | None, list[str]]:
    """Run the model in TFLM on the fixed input and measure its arena; a refusal is appended to ``reasons``.

    Not run: a dynamic model (TFLM would run it at size 1, which says nothing) or a file over 4x the flash."""
    if graph.file_bytes > RUN_LIMIT_FLASHES * tgt.mcu.flash_bytes:
        return None, None, [f"TFLite Micro was not run: the file ({kib(graph.file_bytes)}) is over "
                            f"{RUN_LIMIT_FLASHES}x {tgt.key}'s flash, so the arena was not measured"]
    if any(r.startswith("dynamic") for r in reasons):
        return None, None, []
    run = run_tflm(path, arena_size=generous_arena(graph.file_bytes), inputs=fixed_inputs(graph),
                   outputs=len(graph.outputs))
    if reasons:  # refused by the rules already; the run only records the interpreter's own message
        return run, None, []
    if not run.ok:
        reasons.append(f"TFLite Micro refused it: {run.error}{_custom_ops(graph, run.error)}")
        return run, None, []
    return run, measure_arena(path, run), []


def _budget_reasons(graph: TFLiteGraph, arena: ArenaMeasure | None, tgt: Target) -> list[str]:
    m, flash, out = tgt.mcu, _flash(graph), []
    if arena is not None and arena.arena_bytes > m.arena_budget_bytes:
        out.append(f"arena needs {kib(arena.arena_bytes)} (measured in TFLite Micro) but the largest contiguous "
                   f"SRAM on {tgt.key} is {kib(m.arena_budget_bytes)} ({kib(m.sram_bytes)} SRAM in all)")
    if flash > m.flash_bytes:
        out.append(f"flash needs {kib(flash)} (model {kib(graph.file_bytes)} + est. {kib(flash - graph.file_bytes)} "
                   f"runtime and kernels) but {tgt.key} has {kib(m.flash_bytes)} of flash")
    return out


def _warnings(quant: str, arena: ArenaMeasure | None) -> list[str]:
    out = []
    if quant == "fp32":
        out.append("float32: TFLite Micro runs it, but on its portable reference kernels (CMSIS-NN's fast kernels "
                   "are int8/int16 only), so it is slow, and weights and activations take 4x the bytes of int8; "
                   "convert with --int8")
    if arena is not None and not arena.verified:
        out.append("the arena could not be verified by a re-run at exactly its size; treat it as approximate")
    if arena is not None:
        out.append("arena measured on this machine (64-bit): the interpreter's own structures (tail "
                   f"{kib(arena.tail_bytes)}) are smaller on a 32-bit Cortex-M; CMSIS-NN kernels may add scratch "
                   "buffers the portable kernels do not request")
    return out


def verdict(report: McuReport) -> str:
    """One phrase for a table cell: "fits (arena 109 KiB)" or "does not fit: needs 1,626 KiB SRAM"."""
    if report.fits:
        return f"fits (arena {report.arena.arena_bytes / 1024:,.0f} KiB)"
    if report.arena is not None and report.arena.arena_bytes > report.mcu.arena_budget_bytes:
        return f"does not fit: needs {report.arena.arena_bytes / 1024:,.0f} KiB SRAM"
    if report.flash_bytes > report.mcu.flash_bytes:
        return f"does not fit: needs {report.flash_bytes / 1024:,.0f} KiB flash"
    return "does not run: " + report.reasons[0].split(":")[0]


def check_mcu(path: str | Path, target: Target) -> McuReport:
    """Does the model fit ``target``: TFLM's rules, its measured arena against SRAM, and flash (estimated).

    Raises:
        ModelFileError: a missing or corrupt file. UsageError: not a microcontroller target.
        TflmMissingError: tflite-micro is not installed (the ``[mcu]`` extra).
    """
    return examine(path, target)[0]
