"""Why int8 measured slower than fp32, from the models themselves (issue 32).

"int8 slower than fp32 on x86" is one of the most asked questions about TFLite (tensorflow#21698,
tensorflow/model-optimization#599, ultralytics/ultralytics#17201). The usual causes, each read here from the
model or the machine rather than assumed:

- XNNPACK takes fewer int8 ops than fp32 ones: an op its int8 path does not take stays on TFLite's builtin
  kernels, splitting the graph into several delegate nodes, with a hand-over (and the builtin kernel's
  slower code) at every split. :func:`partition` reads the split from the interpreter's execution plan.
- The CPU has no int8 dot-product instructions (x86: AVX-512 VNNI or AVX-VNNI; Arm: dotprod, i8mm), so an int8
  multiply-accumulate takes several instructions where fp32 takes one FMA. :func:`int8_features` reads the flags
  the result recorded (``device.isa``, from /proc/cpuinfo).
- With ``--profile-ops``, the ops' share of the time shows where it goes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from edgekit.result import Result

SOURCES = "tensorflow#21698, tensorflow/model-optimization#599, ultralytics/ultralytics#17201"


@dataclass(frozen=True)
class Partition:
    """How XNNPACK split a model: ``delegate_nodes`` pieces, and the ops left on builtin kernels, in order."""

    ops: int
    delegate_nodes: int
    builtin: tuple[str, ...]

    def words(self) -> str:
        """"2 XNNPACK nodes, 1 of 5 ops on builtin kernels (SOFTMAX)"."""
        nodes = f"{self.delegate_nodes} XNNPACK node{'s' if self.delegate_nodes != 1 else ''}"
        if not self.builtin:
            return f"{nodes} covering all {self.ops} ops"
        names = ", ".join(dict.fromkeys(self.builtin))
        return f"{nodes}, {len(self.builtin)} of {self.ops} ops on builtin kernels ({names})"


def split_ops(details: list[dict]) -> Partition:
    """The partition from ``Interpreter._get_ops_details()``: each DELEGATE node lists the tensors it reads and
    writes; the ops it replaced are those reached walking back from its outputs to its inputs."""
    ops = [d for d in details if d["op_name"] != "DELEGATE"]
    delegates = [d for d in details if d["op_name"] == "DELEGATE"]
    producer = {int(t): i for i, d in enumerate(ops) for t in d["outputs"]}
    covered: set[int] = set()
    for node in delegates:
        reads = {int(t) for t in node["inputs"]}
        todo = [int(t) for t in node["outputs"]]
        while todo:
            tensor = todo.pop()
            i = producer.get(tensor)
            if i is None or i in covered or tensor in reads:
                continue
            covered.add(i)
            todo.extend(int(t) for t in ops[i]["inputs"] if t >= 0)
    return Partition(len(ops), len(delegates), tuple(d["op_name"] for i, d in enumerate(ops) if i not in covered))


def partition(path: str | Path, threads: int = 1) -> Partition | None:
    """How XNNPACK partitions the model at ``path`` (LiteRT's default delegate); None if it cannot be loaded or
    the runtime does not list its execution plan (a private API)."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        with _native_stderr_silenced():  # LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate" on fd 2
            it = Interpreter(model_path=str(path), num_threads=threads)
            it.allocate_tensors()
        return split_ops(it._get_ops_details())
    except Exception:  # a missing file, another runtime, a model XNNPACK refuses: no partition to show
        return None


@contextlib.contextmanager
def _native_stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def int8_features(isa: list[str] | tuple[str, ...], machine: str = "") -> str:
    """The CPU's int8 dot-product instructions, in words, from the ISA flags a result recorded."""
    flags = set(isa)
    arm = machine.lower().startswith(("aarch64", "arm")) or bool(flags & {"asimd", "neon", "asimddp", "i8mm"})
    if arm:
        have = [name for flag, name in (("asimddp", "dotprod"), ("i8mm", "i8mm")) if flag in flags]
        return ", ".join(have) + " (int8 dot products)" if have else "no dotprod or i8mm (int8 dot products)"
    have = [name for flag, name in (("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"), ("amx_int8", "AMX"))
            if flag in flags]
    if have:
        return ", ".join(have) + " (int8 dot products)"
    return "no VNNI: an int8 multiply-accumulate takes several instructions where fp32 takes one FMA"


def measured_slower(fp32: Result, int8: Result) -> bool:
    """int8's p50 above fp32's, with 95% intervals that do not overlap."""
    if fp32.figures is None or int8.figures is None:
        return False
    a, b = fp32.figures.latency_ms, int8.figures.latency_ms
    return bool(a.ci95 and b.ci95 and b.p50 > a.p50 and b.ci95[0] > a.ci95[1])


def _op_share(r: Result) -> str | None:
    ops = [o for o in r.extra.get("ops") or () if o.get("ms")]
    total = sum(o["ms"] for o in ops)
    if not total:
        return None
    top = sorted(ops, key=lambda o: -o["ms"])[:3]
    return ", ".join(f"{o['op']} {100 * o['ms'] / total:.0f}%" for o in top)


def explain(fp32: Result, int8: Result) -> list[str]:
    """Lines saying why int8 was measured slower than fp32 for one model ([] when it was not)."""
    if not measured_slower(fp32, int8):
        return []
    ratio = int8.p50_ms / fp32.p50_ms
    lines = [f"why int8 is {ratio:.2f}x slower than fp32 for {int8.model} (a known TFLite pattern on CPUs: "
             f"{SOURCES}):"]
    parts = {q: partition(r.path, r.threads or 1) if r.path else None for q, r in (("fp32", fp32), ("int8", int8))}
    if parts["fp32"] and parts["int8"]:
        lines.append(f"  XNNPACK partition: fp32 {parts['fp32'].words()}; int8 {parts['int8'].words()}")
        if parts["int8"].delegate_nodes > parts["fp32"].delegate_nodes or parts["int8"].builtin:
            lines.append("  each op XNNPACK's int8 path does not take runs on a slower builtin kernel, and splits "
                         "the graph where tensors are handed between XNNPACK and the interpreter")
    else:
        lines.append("  XNNPACK partition: not read (the .tflite files are not here, or the runtime hides its plan)")
    for q, r in (("fp32", fp32), ("int8", int8)):
        share = _op_share(r)
        if share:
            lines.append(f"  {q} time by op (--profile-ops, each op alone): {share}")
    device = int8.extra.get("device") or {}
    if device.get("isa") is not None:
        features = int8_features(device["isa"], device.get("machine", ""))
        lines.append(f"  this CPU ({device.get('cpu', '?')}): {features}")
    return lines


def explain_all(results: list[Result]) -> list[str]:
    """:func:`explain` for every model measured both as fp32 and as int8 in the same configuration."""
    def key(r: Result) -> tuple:
        return (r.model.removesuffix("_fp32").removesuffix("_int8"), r.target, r.threads,
                True if r.xnnpack is None else r.xnnpack)

    by = {(key(r), r.quant): r for r in results if r.figures is not None}
    lines: list[str] = []
    for (k, quant), r in by.items():
        if quant == "int8" and (k, "fp32") in by:
            lines += explain(by[(k, "fp32")], r)
    return lines
