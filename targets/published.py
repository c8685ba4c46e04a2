"""The published device figures the cost model is fitted and cross-validated on, and the setups they ran on.

Rows live in ``targets/data/published_rows.json`` (each with its source and date); the models they name are
stored as per-op summaries in ``targets/data/calibration_models.json`` (edgekit's zoo and keras.applications
networks at batch 1 with random weights, converted by ``scripts/calibration_models.py``), so nothing here
needs TensorFlow. A setup is the hardware a row ran on, described by the same figures as a target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from targets.opcost import OpCost
from targets.registry import A53_CPU, EDGE_TPU_PCIE, EDGE_TPU_USB, RPI4_CPU, AcceleratorFigures, CpuFigures

DATA = Path(__file__).resolve().parent / "data"
ROWS_FILE = DATA / "published_rows.json"
MODELS_FILE = DATA / "calibration_models.json"

# Raspberry Pi 3B+ (BCM2837B0): 4x Cortex-A53 @ 1.4 GHz (raspberrypi.com product brief), 512 KB L2; 32-bit
# LPDDR2-900 = 3.6 GB/s peak, ~1.6 GB/s sustained at the Pi 4's STREAM/peak ratio (5.5 of 12.8 GB/s).
RPI3BPLUS_CPU = CpuFigures(4, 1.4, 4.0, 8.0, 1.6, "4x Cortex-A53 @ 1.4 GHz, NEON, LPDDR2", 512 << 10, "cortex-a53")
# The Coral table's "desktop CPU": a Xeon-class x86-64 host. Assumed figures: AVX2 with two FMA pipes.
DESKTOP_HOST = CpuFigures(8, 3.5, 32.0, 64.0, 15.0, "Xeon-class x86-64 desktop (assumed figures)", 16 << 20,
                          "x86-avx2")


class Family(str, Enum):
    """Target families: the error of an estimate is reported per family (docs/estimates.md)."""

    PI = "pi"  # Raspberry Pi CPUs under XNNPACK
    CORAL = "coral"  # the Edge TPU, any host


class Setup(str, Enum):
    RPI3BPLUS_CPU = "rpi3bplus-cpu"  # XNNPACK, 4 threads
    RPI4_CPU = "rpi4-cpu"  # XNNPACK, 4 threads (32- and 64-bit OS rows)
    DESKTOP_USB = "desktop-usb"  # Coral USB Accelerator on a desktop (C++ benchmark)
    DEVBOARD = "devboard"  # Coral Dev Board (C++ benchmark)
    RPI4_USB = "rpi4-usb"  # USB Accelerator on a Raspberry Pi 4 (pycoral)


@dataclass(frozen=True)
class Hardware:
    family: Family
    cpu: CpuFigures  # the CPU, or the accelerator's host
    accelerator: AcceleratorFigures | None
    threads: int


HARDWARE = {
    Setup.RPI3BPLUS_CPU: Hardware(Family.PI, RPI3BPLUS_CPU, None, 4),
    Setup.RPI4_CPU: Hardware(Family.PI, RPI4_CPU, None, 4),
    Setup.DESKTOP_USB: Hardware(Family.CORAL, DESKTOP_HOST, EDGE_TPU_USB, 4),
    Setup.DEVBOARD: Hardware(Family.CORAL, A53_CPU, EDGE_TPU_PCIE, 4),
    Setup.RPI4_USB: Hardware(Family.CORAL, RPI4_CPU, EDGE_TPU_USB, 4),
}


@dataclass(frozen=True)
class Row:
    model: str  # key in calibration_models.json
    setup: Setup
    ms: float
    source: str  # key in the rows file's "sources"
    note: str = ""

    @property
    def family(self) -> Family:
        return HARDWARE[self.setup].family

    @property
    def quant(self) -> str:
        return self.model.rsplit("_", 1)[-1]

    @property
    def network(self) -> str:
        """The architecture, whatever the quantization: cross-validation holds all its rows out together."""
        return self.model.rsplit("_", 1)[0]


@dataclass(frozen=True)
class Model:
    ops: tuple[OpCost, ...]
    input_bytes: int
    output_bytes: int


def load_rows(path: Path = ROWS_FILE) -> tuple[Row, ...]:
    """Every published row, in file order."""
    doc = json.loads(path.read_text())
    return tuple(Row(r["model"], Setup(r["setup"]), float(r["ms"]), r["source"], r.get("note", ""))
                 for r in doc["rows"])


def load_sources(path: Path = ROWS_FILE) -> dict[str, dict]:
    return json.loads(path.read_text())["sources"]


def load_models(path: Path = MODELS_FILE) -> dict[str, Model]:
    """``{name: Model}`` from the stored summaries."""
    doc = json.loads(path.read_text())
    names = doc["fields"]
    return {k: Model(tuple(OpCost.from_dict(dict(zip(names, op, strict=True))) for op in m["ops"]),
                     m["input_bytes"], m["output_bytes"]) for k, m in doc["models"].items()}
