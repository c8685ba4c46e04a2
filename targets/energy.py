"""Estimated energy per inference: the estimated latency times published power, with a held-out error.

Where no sensor can be read (a Raspberry Pi 4, a Coral, a microcontroller, a host whose RAPL is root-only),
energy per inference above idle is ``latency x power above idle``, with the power from published rows
(``targets/data/energy_rows.json``, each with its source and date):

- **A board measured running TFLite models** (``rpi4``, ``coral-devboard``'s CPU): the median over those models
  of the board's power above idle at its 5 V input (DeepEdgeBench), per busy core, times the run's threads.
- **Other Raspberry Pi boards** (``rpi5``): (load - idle) power at the wall, the median over the published
  all-core workloads (stress-ng, Geekbench, HPL), times ``threads / cores``.
- **Edge TPU** (``coral-usb``, ``coral-devboard``): the median over the models DeepEdgeBench ran on the Coral Dev
  Board's Edge TPU of the board's power above idle while they ran (the TPU and the SoC feeding it); the rated 2 W
  (4 TOPS at 2 TOPS/W) only where no such row exists. A model the TPU cannot run is priced at the host board's
  power instead.
- **An x86 host whose RAPL cannot be read** (``cpu``): its measured latency times the median RAPL package power
  per busy thread above idle of x86 CPUs profiled at their lightest load (CodeCarbon's load profiling).
- **Microcontrollers** (``cortex-m4``, ``cortex-m7``): energy per cycle from the MLPerf Tiny energy runs of a
  board with the same core (power = uJ/inference x inferences/s, the median over its benchmarks, divided by its
  clock), times the estimated cycles (latency x the target's clock).

Cross-validation leaves one out, as the latency fit does (``targets.fit``): for a microcontroller, each network
is priced with the power fitted on the board's *other* networks; for a board or Edge TPU measured running TFLite
models, each model with the median power of the board's models of *other* networks (MobileNet v2 int8 and fp32
are one network); for a Pi board, each workload's power with the median of the board's other workloads; for an
x86 CPU, its power per thread from the other CPUs'. The RMS of
those held-out errors per family, compounded with the latency estimate's own ``expected_error_pct``, is the
``expected_error_pct`` every energy estimate carries.

    python -m targets.energy           # the held-out table
    python -m targets.energy --write   # rewrite docs/energy.md's table and energy_expected_error.json
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from edgekit.energy import EnergyFigure, combine_errors
from targets.fit import Summary, summarise_errors
from targets.registry import Target

DATA = Path(__file__).resolve().parent / "data"
ROWS_FILE = DATA / "energy_rows.json"
EXPECTED_FILE = DATA / "energy_expected_error.json"
DOC = Path(__file__).resolve().parent.parent / "docs" / "energy.md"
BEGIN, END = "<!-- begin: python -m targets.energy --write -->", "<!-- end: python -m targets.energy --write -->"
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


# ---- cross-validation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    family: str
    board: str
    item: str  # the network (mcu) or the workload (pi-board) held out
    published: float  # uJ per inference (mcu) or W above idle (pi-board)
    predicted: float  # from the board's other rows only
    unit: str

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1


def cross_validate(rows: Rows | None = None) -> list[Held]:
    """Leave one out within each board: each network's (workload's) figure from the board's other rows."""
    rows = rows or load_rows()
    out = []
    for board in dict.fromkeys(r.board for r in rows.tiny):
        mine = [r for r in rows.tiny if r.board == board]
        for r in mine:
            power = statistics.median(o.power_w for o in mine if o is not r)
            out.append(Held(MCU, board, r.network, r.uj_per_inference, power / r.inferences_per_s * 1e6, "uJ"))
    for r in rows.x86:
        others = statistics.median(o.per_thread_w for o in rows.x86 if o is not r)
        out.append(Held(X86, r.cpu, f"{r.threads} thread(s) busy", r.per_thread_w, others, "W/thread above idle"))
    for board in dict.fromkeys(r.board for r in rows.boards):
        mine = [r for r in rows.boards if r.board == board]
        for r in mine if len(mine) > 1 else ():
            out.append(Held(PI, board, r.workload, r.above_w, statistics.median(o.above_w for o in mine if o is not r),
                            "W above idle"))
    for label in dict.fromkeys(r.label for r in rows.networks):
        mine = [r for r in rows.networks if r.label == label]
        for r in mine:
            others = [o.above_w for o in mine if o.network != r.network]
            if others:  # leave the whole network out: its other quantizations too
                out.append(Held(TPU_NET if r.runs_on == "edgetpu" else BOARD_NET, label, f"{r.network} {r.quant}",
                                r.mj, r.latency_ms * statistics.median(others), "mJ"))
    return out


def summarise(held: list[Held]) -> dict[str, Summary]:
    """Median, worst and RMS held-out error per family (``targets.fit``'s summary, as for latency)."""
    families = dict.fromkeys(h.family for h in held)
    return {fam: summarise_errors([h for h in held if h.family == fam]) for fam in families}


def expected_errors(held: list[Held]) -> dict[str, int]:
    """``{family: N}``: the RMS held-out error of the power, in percent, rounded up."""
    return {fam: math.ceil(s.rms_pct) for fam, s in summarise(held).items()}


@cache
def _expected() -> dict[str, int]:
    return json.loads(EXPECTED_FILE.read_text())


def render(held: list[Held], rows: Rows | None = None) -> str:
    """The held-out section of docs/energy.md."""
    rows = rows or load_rows()
    lines = [BEGIN, "", "| family | board | held out | published | predicted from the rest | held-out error | source |",
             "|---|---|---|---:|---:|---:|---|"]
    src = ({r.board: r.source for r in (*rows.tiny, *rows.boards)} | {r.cpu: r.source for r in rows.x86}
           | {r.label: r.source for r in rows.networks})
    for h in held:
        s = rows.sources[src[h.board]]
        lines.append(f"| {h.family} | {h.board} | {h.item} | {_n(h.published)} {h.unit} | {_n(h.predicted)} {h.unit} | "
                     f"{100 * h.error:+.0f}% | [{s['date']}]({s['url']}) |")
    lines += ["", "| family | rows | median \\|held-out error\\| | worst \\|held-out error\\| | RMS |",
              "|---|---:|---:|---:|---:|"]
    for fam, s in summarise(held).items():
        lines.append(f"| {fam} | {s.rows} | {s.median_pct:.1f}% | {s.worst_pct:.1f}% | {s.rms_pct:.1f}% |")
    lines += ["", "Power's `expected_error_pct` (RMS held-out error, rounded up): "
              + "; ".join(f"{fam} ±{n}%" for fam, n in expected_errors(held).items())
              + ". An estimate compounds it with its latency's expected error.", "", END]
    return "\n".join(lines)


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def write(held: list[Held], doc: Path = DOC, expected: Path = EXPECTED_FILE) -> None:
    text = doc.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + render(held) + text[stop:])
    expected.write_text(json.dumps(expected_errors(held), indent=1, sort_keys=True) + "\n")


# ---- estimates ---------------------------------------------------------------------------------------------


def estimate_energy(result: dict, target: Target, rows: Rows | None = None) -> EnergyFigure:
    """The energy estimate of one estimated ``edgekit bench`` result (its ``latency_ms.p50``, ``threads``,
    ``expected_error_pct`` and ``runs_on``) on ``target``; a figure without ``mj`` says why there is none."""
    rows = rows or load_rows()
    ms = (result.get("latency_ms") or {}).get("p50")
    if ms is None:
        return EnergyFigure.unavailable("estimated", "no latency estimate to price")
    lat_pct = result.get("expected_error_pct") or 0
    if target.mcu is not None:
        return _mcu(ms, lat_pct, target, rows)
    if target.accelerator is not None and result.get("runs_on") != "host-cpu":
        return _tpu(ms, lat_pct, target, rows)
    if target.phone is not None:
        return EnergyFigure.unavailable("estimated", f"no public power figure for {target.phone.soc} running "
                                        "TFLite, so no energy estimate for a phone")
    host = target.key if target.accelerator is None else "rpi4" if target.key == "coral-usb" else target.key
    return _board(ms, lat_pct, result.get("threads") or 1, target, host, rows)


def _band(mj: float, pct: int) -> tuple[float, float]:
    return max(mj * (1 - pct / 100), 0.0), mj * (1 + pct / 100)


def _cite(rows: Rows, source: str) -> str:
    s = rows.sources[source]
    return f"{s['url']} ({s['date']})"


def _mcu(ms: float, lat_pct: int, target: Target, rows: Rows) -> EnergyFigure:
    mine = [r for r in rows.tiny if r.target == target.key]
    if not mine:
        return EnergyFigure.unavailable("estimated", f"no published energy row for {target.key}")
    board = mine[0]
    j_per_cycle = statistics.median(r.power_w for r in mine) / (board.mhz * 1e6)
    mj = ms / 1e3 * target.mcu.mhz * 1e6 * j_per_cycle * 1e3
    pct = combine_errors(lat_pct, _expected()[MCU])
    note = "" if board.mhz == target.mcu.mhz else (f"energy per cycle of {board.board} ({board.core} at {board.mhz:g} "
                                                   f"MHz) applied to {target.mcu.mhz:g} MHz")
    return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                        expected_error_pct=pct, power_w=j_per_cycle * target.mcu.mhz * 1e6,
                        source=f"latency x {board.board} energy per cycle, MLPerf Tiny v1.0 "
                               f"{_cite(rows, board.source)}",
                        covers="the MCU board's supply as MLPerf Tiny's EnergyRunner measures it (the DUT), "
                               "while inferring", note=note)


def _tpu(ms: float, lat_pct: int, target: Target, rows: Rows) -> EnergyFigure:
    measured = [r for r in rows.networks if r.runs_on == "edgetpu"]
    if measured:
        watts = statistics.median(r.above_w for r in measured)
        mj = ms * watts
        pct = combine_errors(lat_pct, _expected()[TPU_NET])
        on = "" if target.key == "coral-devboard" else (" (the same Edge TPU as this target's; the USB host's "
                                                         "share is as the Dev Board's SoC's)")
        return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                            expected_error_pct=pct, power_w=watts,
                            idle_w=statistics.median(r.idle_w for r in measured),
                            source=f"latency x {watts:.3g} W above idle, the median of {len(measured)} models "
                                   f"DeepEdgeBench ran on the {measured[0].board}'s Edge TPU{on}, "
                                   f"{_cite(rows, measured[0].source)}",
                            covers="the Coral Dev Board at its 5 V input, above idle, while the Edge TPU ran: the "
                                   "TPU and the SoC feeding it")
    acc = next(a for a in rows.accelerators if target.key in a["targets"])
    mj = ms * acc["watts"]
    return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, lat_pct)[0], high_mj=_band(mj, lat_pct)[1],
                        expected_error_pct=lat_pct, power_w=acc["watts"],
                        source=f"latency x the Edge TPU's rated {acc['watts']:g} W "
                               f"({acc['tops']:g} TOPS at {acc['tops'] / acc['watts']:g} TOPS/W), "
                               f"{_cite(rows, acc['source'])}",
                        covers="the Edge TPU only: not the host CPU, USB or board",
                        note="an upper bound: the TPU at its rated power for the whole inference; the held-out "
                             "error is the latency's alone (no published per-model Edge TPU energy to "
                             "cross-validate on)")


def _board(ms: float, lat_pct: int, threads: int, target: Target, key: str, rows: Rows) -> EnergyFigure:
    measured = [r for r in rows.networks if r.target == key and r.runs_on == "cpu"]
    if measured and target.cpu is not None:
        busy = min(threads, target.cpu.cores)
        per_core = statistics.median(r.above_w for r in measured)
        watts = per_core * busy
        mj = ms * watts
        pct = combine_errors(lat_pct, _expected()[BOARD_NET])
        return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                            expected_error_pct=pct, power_w=watts,
                            idle_w=statistics.median(r.idle_w for r in measured),
                            source=f"latency x {per_core:.3g} W per busy core above idle, the median of "
                                   f"{len(measured)} TFLite models DeepEdgeBench ran on the {measured[0].board} "
                                   f"(one thread), x {busy} thread(s), {_cite(rows, measured[0].source)}",
                            covers="the whole board at its 5 V input, above idle")
    mine = [r for r in rows.boards if r.target == key]
    if not mine or target.cpu is None:
        return EnergyFigure.unavailable("estimated", f"no published power figure for {target.key}'s board")
    cores = target.cpu.cores
    share = min(threads, cores) / cores
    watts = statistics.median(r.above_w for r in mine) * share
    mj = ms * watts
    pct = combine_errors(lat_pct, _expected()[PI])
    return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                        expected_error_pct=pct, power_w=watts, idle_w=statistics.median(r.idle_w for r in mine),
                        source=f"latency x {mine[0].board} power above idle at the wall "
                               f"x {min(threads, cores)}/{cores} cores, {_cite(rows, mine[0].source)}",
                        covers="the whole board at the wall (power supply included), above idle")


def host_fallback(result: dict, measured: EnergyFigure, rows: Rows | None = None) -> EnergyFigure:
    """A measured result whose sensor could not be read: an estimate from a published power row for its CPU,
    when there is one (``hosts`` in energy_rows.json), else the sensor's reason with that said too."""
    rows = rows or load_rows()
    device = _device_target(result.get("target"))
    if device is not None and result.get("latency_ms") is not None:
        return _device_estimate(result, measured, device, rows)
    cpu = ((result.get("device") or {}).get("cpu") or "").strip()
    row = next((h for h in rows.hosts if h["cpu"] == cpu), None)
    if row is None and result.get("target") == "cpu" and rows.x86 and _x86():
        return _x86_estimate(result, measured, rows)
    if row is None or result.get("latency_ms") is None:
        return EnergyFigure.unavailable("none", f"{measured.note}; and no published power figure for the CPU "
                                                f"{cpu!r} to estimate from (targets/data/energy_rows.json 'hosts')")
    threads = result.get("threads") or 1
    watts = row["watts_per_core"] * threads
    mj = result["latency_ms"]["p50"] * watts
    pct = row["expected_error_pct"]
    return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                        expected_error_pct=pct, power_w=watts, source=f"measured latency x "
                        f"{row['watts_per_core']:g} W per core, {_cite(rows, row['source'])}",
                        covers="the cores this run used, at their published power", note=measured.note)


def _device_target(key) -> Target | None:
    """The board or accelerator target a result was measured on (over ssh), or None (this machine, a GPU, an MCU,
    a name that is no target, such as ``--target auto``'s machine name)."""
    if not key or key in ("cpu", "gpu"):
        return None
    from targets.registry import get_target

    try:
        target = get_target(key)
    except Exception:  # an unknown name or a broken user target file: no device to price
        return None
    if target.key in ("cpu", "gpu") or target.mcu is not None:
        return None
    return target if target.cpu is not None or target.accelerator is not None else None


def _device_estimate(result: dict, measured: EnergyFigure, target: Target, rows: Rows) -> EnergyFigure:
    """A board measured over ssh whose sensor could not be read (a Pi 4 has none; a Coral's TPU neither): its
    measured latency priced as an estimate would be, with the power's held-out error alone."""
    runs_on = "edgetpu" if result.get("delegate") == "edgetpu" else "host-cpu"
    fig = estimate_energy({**result, "expected_error_pct": 0, "runs_on": runs_on}, target, rows)
    if fig.mj is None:
        return EnergyFigure.unavailable("none", f"{measured.note}; and {fig.note}")
    return replace(fig, source="measured " + fig.source,
                   note="; ".join(n for n in (measured.note, fig.note) if n))


def _x86() -> bool:
    import platform

    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def _x86_estimate(result: dict, measured: EnergyFigure, rows: Rows) -> EnergyFigure:
    """This x86 machine's measured latency x the median RAPL package power per busy thread above idle of the
    profiled CPUs (their lightest load step: what one inference thread wakes), x threads."""
    threads = result.get("threads") or 1
    per_thread = statistics.median(r.per_thread_w for r in rows.x86)
    watts = per_thread * threads
    mj = result["latency_ms"]["p50"] * watts
    pct = _expected()[X86]
    return EnergyFigure(mj=mj, measured=False, low_mj=_band(mj, pct)[0], high_mj=_band(mj, pct)[1],
                        expected_error_pct=pct, power_w=watts,
                        source=f"measured latency x {per_thread:.3g} W per busy thread, the median RAPL package "
                               f"power above idle of {len(rows.x86)} profiled x86 CPUs, "
                               f"{_cite(rows, rows.x86[0].source)}",
                        covers="package power (the whole socket) as RAPL would read it, above idle, for this run's "
                               "threads; not this machine's own CPU, whose sensor could not be read",
                        note=measured.note)


def with_host_fallback(result: dict) -> dict:
    """A measured result, with the estimate (or why there is none) in place of a sensor that could not be read."""
    fig = EnergyFigure.from_dict(result)
    if fig is None or fig.mj is not None or "latency_ms" not in result:
        return result
    return {**result, **host_fallback(result, fig).to_dict()}


def main(argv: list[str]) -> None:
    held = cross_validate()
    if argv[:1] == ["--write"]:
        write(held)
    print(render(held))


if __name__ == "__main__":
    main(sys.argv[1:])
