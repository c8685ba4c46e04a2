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

from targets.builtin import PIXEL2_CPU, PIXEL3_CPU, PIXEL3A_CPU, PIXEL4_CPU, PIXEL_CPU
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
    PHONE = "phone"  # phone CPUs (heterogeneous clusters), TFLite or XNNPACK on the big cores


class Setup(str, Enum):
    RPI3BPLUS_CPU = "rpi3bplus-cpu"  # XNNPACK, 4 threads
    RPI4_CPU = "rpi4-cpu"  # XNNPACK, 4 threads (32- and 64-bit OS rows)
    DESKTOP_USB = "desktop-usb"  # Coral USB Accelerator on a desktop (C++ benchmark)
    DEVBOARD = "devboard"  # Coral Dev Board (C++ benchmark)
    RPI4_USB = "rpi4-usb"  # USB Accelerator on a Raspberry Pi 4 (pycoral)
    PIXEL_1T = "pixel-1t"  # XNNPACK end2end_bench, one thread
    PIXEL_BIG = "pixel-big"  # XNNPACK, one thread per big core (2)
    PIXEL2_1T = "pixel2-1t"
    PIXEL2_BIG = "pixel2-big"  # 4 big cores
    PIXEL3A_1T = "pixel3a-1t"
    PIXEL3A_BIG = "pixel3a-big"  # 2 big cores
    PIXEL3_4T = "pixel3-4t"  # TFLite benchmark_model, 4 threads on the big cores (Android 10)
    PIXEL4_4T = "pixel4-4t"


@dataclass(frozen=True)
class Hardware:
    family: Family
    cpu: CpuFigures  # the CPU, or the accelerator's host
    accelerator: AcceleratorFigures | None
    threads: int
    device: str = ""  # the phone, for leave-one-phone-out (targets.fit)


HARDWARE = {
    Setup.RPI3BPLUS_CPU: Hardware(Family.PI, RPI3BPLUS_CPU, None, 4),
    Setup.RPI4_CPU: Hardware(Family.PI, RPI4_CPU, None, 4),
    Setup.DESKTOP_USB: Hardware(Family.CORAL, DESKTOP_HOST, EDGE_TPU_USB, 4),
    Setup.DEVBOARD: Hardware(Family.CORAL, A53_CPU, EDGE_TPU_PCIE, 4),
    Setup.RPI4_USB: Hardware(Family.CORAL, RPI4_CPU, EDGE_TPU_USB, 4),
    Setup.PIXEL_1T: Hardware(Family.PHONE, PIXEL_CPU, None, 1, "pixel"),
    Setup.PIXEL_BIG: Hardware(Family.PHONE, PIXEL_CPU, None, 2, "pixel"),
    Setup.PIXEL2_1T: Hardware(Family.PHONE, PIXEL2_CPU, None, 1, "pixel2"),
    Setup.PIXEL2_BIG: Hardware(Family.PHONE, PIXEL2_CPU, None, 4, "pixel2"),
    Setup.PIXEL3A_1T: Hardware(Family.PHONE, PIXEL3A_CPU, None, 1, "pixel3a"),
    Setup.PIXEL3A_BIG: Hardware(Family.PHONE, PIXEL3A_CPU, None, 2, "pixel3a"),
    Setup.PIXEL3_4T: Hardware(Family.PHONE, PIXEL3_CPU, None, 4, "pixel3"),
    Setup.PIXEL4_4T: Hardware(Family.PHONE, PIXEL4_CPU, None, 4, "pixel4"),
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
    def device(self) -> str:
        """The phone (or setup) the row ran on: leave-one-phone-out holds all its rows out together."""
        return HARDWARE[self.setup].device or self.setup.value

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
