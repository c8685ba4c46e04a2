"""Compile an int8 model with Coral's ``edgetpu_compiler`` when it is installed, and read its report.

The report format is the compiler's stdout (versions 2.1 to 16), e.g.::

    On-chip memory used for caching model parameters: 3.32MiB
    Off-chip memory used for streaming uncached model parameters: 0.00B
    Total number of operations: 72
    Number of operations that will run on Edge TPU: 71
    Number of operations that will run on CPU: 1
    Operator                       Count      Status
    CONV_2D                        35         Mapped to Edge TPU
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgekit.errors import EdgekitError

INSTALL_HINT = ("edgetpu_compiler is not on PATH, so the int8 model was written but not compiled for the Edge TPU. "
                "It runs on x86-64 Debian/Ubuntu Linux only: add Coral's apt repository "
                "(deb https://packages.cloud.google.com/apt coral-edgetpu-stable main) and run "
                "'sudo apt-get install edgetpu-compiler'; see https://coral.ai/docs/edgetpu/compiler/")

_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
_LINES = {
    "compiler_version": r"Edge TPU Compiler version (\S+)",
    "on_chip_bytes": r"On-chip memory used for caching model parameters: ([\d.]+\s*[KMG]?i?B)",
    "on_chip_remaining_bytes": r"On-chip memory remaining for caching model parameters: ([\d.]+\s*[KMG]?i?B)",
    "off_chip_bytes": r"Off-chip memory used for streaming uncached model parameters: ([\d.]+\s*[KMG]?i?B)",
    "subgraphs": r"Number of Edge TPU subgraphs: (\d+)",
    "total_ops": r"Total number of operations: (\d+)",
    "ops_on_tpu": r"Number of operations that will run on Edge TPU: (\d+)",
    "ops_on_cpu": r"Number of operations that will run on CPU: (\d+)",
}
_OP_ROW = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class EdgeTPUReport:
    compiled: bool
    output: str | None = None
    compiler_version: str | None = None
    ops_on_tpu: int | None = None
    ops_on_cpu: int | None = None
    total_ops: int | None = None
    subgraphs: int | None = None
    on_chip_bytes: int | None = None
    on_chip_remaining_bytes: int | None = None
    off_chip_bytes: int | None = None
    operators: tuple[dict, ...] = field(default=())  # {"op", "count", "status"} rows of the table
    message: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "operators": list(self.operators)}


def _bytes(text: str) -> int:
    number, unit = re.fullmatch(r"([\d.]+)\s*([KMG]?i?B)", text.strip()).groups()
    return round(float(number) * _UNITS[unit])


def parse_report(text: str) -> dict:
    """The numbers in the compiler's stdout; op counts come from the table when the summary lines are absent."""
    found: dict = {}
    for name, pattern in _LINES.items():
        m = re.search(pattern, text)
        if m:
            value = m.group(1)
            found[name] = _bytes(value) if name.endswith("bytes") else value if name == "compiler_version" \
                else int(value)
    rows = []
    for line in text.split("Operator", 1)[1].splitlines()[1:] if "Operator" in text else []:
        m = _OP_ROW.match(line.strip())
        if m:
            rows.append({"op": m.group(1), "count": int(m.group(2)), "status": m.group(3)})
    found["operators"] = tuple(rows)
    if rows and "ops_on_tpu" not in found:
        found["ops_on_tpu"] = sum(r["count"] for r in rows if r["status"] == "Mapped to Edge TPU")
        found["ops_on_cpu"] = sum(r["count"] for r in rows) - found["ops_on_tpu"]
    return found


def compile_model(model: Path, timeout: float = 300) -> EdgeTPUReport:
    """Run ``edgetpu_compiler -s`` next to ``model``; without the compiler, say how to get it."""
    exe = shutil.which("edgetpu_compiler")
    if exe is None:
        return EdgeTPUReport(compiled=False, message=INSTALL_HINT)
    try:
        proc = subprocess.run([exe, "-s", "-o", str(model.parent), str(model)], capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise EdgekitError(f"edgetpu_compiler failed to run on {str(model)!r}: {err}") from None
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise EdgekitError(f"edgetpu_compiler could not compile {str(model)!r}: "
                           f"{last[-1] if last else f'exit {proc.returncode}'}")
    out = model.with_name(model.stem + "_edgetpu.tflite")
    found = parse_report(proc.stdout)
    if not out.is_file() or out.stat().st_size == 0:  # exit 0 is not proof: "compiled" means the file is there
        return EdgeTPUReport(compiled=False, **found,
                             message=f"edgetpu_compiler exited 0 but wrote no {out.name} in {str(out.parent)!r}, "
                                     "so the model is not compiled; run 'edgetpu_compiler -s "
                                     f"{model}' by hand to see why")
    return EdgeTPUReport(compiled=True, output=str(out), **found, message="compiled by edgetpu_compiler")
