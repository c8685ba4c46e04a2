"""The published power rows energy is estimated from (``targets/data/energy_rows.json``, each with its source and
date), and the held-out errors shipped beside them (``energy_expected_error.json``, see ``targets.energy_cv``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
ROWS_FILE = DATA / "energy_rows.json"
EXPECTED_FILE = DATA / "energy_expected_error.json"
PI, MCU, X86 = "pi-board", "mcu", "x86-host"
BOARD_NET, TPU_NET = "board-tflite", "edge-tpu"  # leave one network out over NetworkPower rows


@dataclass(frozen=True)
class BoardPower:
    board: str
    target: str | None
    workload: str
    idle_w: float
    load_w: float
    source: str

    @property
    def above_w(self) -> float:
        return self.load_w - self.idle_w


@dataclass(frozen=True)
class TinyRow:
    board: str
    target: str | None
    core: str
    mhz: float
    benchmark: str
    network: str
    uj_per_inference: float
    inferences_per_s: float
    source: str

    @property
    def power_w(self) -> float:
        return self.uj_per_inference * self.inferences_per_s / 1e6


@dataclass(frozen=True)
class X86Row:
    """RAPL package power of an x86 CPU idle and at its lightest load step (``threads`` busy)."""

    cpu: str
    threads: int
    idle_w: float
    load_w: float
    source: str

    @property
    def per_thread_w(self) -> float:
        return (self.load_w - self.idle_w) / self.threads


@dataclass(frozen=True)
class NetworkPower:
    """A board's power at its 5 V input while one TFLite model ran on its CPU or its Edge TPU (``runs_on``),
    its idle power, and the model's time per inference: a published per-model measurement."""

    board: str
    target: str | None
    runs_on: str  # "cpu" or "edgetpu"
    network: str
    quant: str
    model: str
    latency_ms: float
    run_w: float
    idle_w: float
    source: str

    @property
    def above_w(self) -> float:
        return self.run_w - self.idle_w

    @property
    def mj(self) -> float:
        return self.latency_ms * self.above_w

    @property
    def label(self) -> str:
        return f"{self.board} ({'Edge TPU' if self.runs_on == 'edgetpu' else 'CPU'})"


@dataclass(frozen=True)
class Rows:
    sources: dict
    boards: tuple[BoardPower, ...]
    tiny: tuple[TinyRow, ...]
    accelerators: tuple[dict, ...]
    hosts: tuple[dict, ...]
    x86: tuple[X86Row, ...] = ()
    networks: tuple[NetworkPower, ...] = ()


@cache
def load_rows(path: Path = ROWS_FILE) -> Rows:
    doc = json.loads(Path(path).read_text())
    rows = Rows(doc["sources"], tuple(BoardPower(**r) for r in doc["board_power"]),
                tuple(TinyRow(**r) for r in doc["mlperf_tiny"]), tuple(doc["accelerators"]), tuple(doc["hosts"]),
                tuple(X86Row(**r) for r in doc.get("x86_rapl", ())),
                tuple(NetworkPower(**r) for r in doc.get("network_power", ())))
    for r in (*rows.boards, *rows.tiny, *rows.accelerators, *rows.x86, *rows.networks):
        source = r["source"] if isinstance(r, dict) else r.source
        if source not in rows.sources:
            raise ValueError(f"{path}: a row cites {source!r}, which is not in 'sources'")
    return rows


@cache
def expected() -> dict[str, int]:
    """``{family: N}``: the shipped RMS held-out error of the power per family, in percent."""
    return json.loads(EXPECTED_FILE.read_text())
