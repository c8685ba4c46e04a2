"""Leave-one-out cross-validation of the energy estimates (``targets.energy``'s docstring says how), and the
held-out table it writes into docs/energy.md and ``energy_expected_error.json``.

    python -m targets.energy           # the held-out table
    python -m targets.energy --write   # rewrite docs/energy.md's table and energy_expected_error.json
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from targets.energy_rows import BOARD_NET, EXPECTED_FILE, MCU, PI, TPU_NET, X86, Rows, load_rows
from targets.fit import ErrorSummary, summarise_errors

DOC = Path(__file__).resolve().parent.parent / "docs" / "energy.md"
BEGIN, END = "<!-- begin: python -m targets.energy --write -->", "<!-- end: python -m targets.energy --write -->"


@dataclass(frozen=True)
class HeldOutEnergy:
    """One published energy figure against its estimate from the board's other rows."""

    family: str
    board: str
    item: str  # the network (mcu) or the workload (pi-board) held out
    published: float  # uJ per inference (mcu) or W above idle (pi-board)
    predicted: float  # from the board's other rows only
    unit: str

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1


def cross_validate(rows: Rows | None = None) -> list[HeldOutEnergy]:
    """Leave one out within each board: each network's (workload's) figure from the board's other rows."""
    rows = rows or load_rows()
    out = []
    for board in dict.fromkeys(r.board for r in rows.tiny):
        mine = [r for r in rows.tiny if r.board == board]
        for r in mine:
            power = statistics.median(o.power_w for o in mine if o is not r)
            out.append(HeldOutEnergy(MCU, board, r.network, r.uj_per_inference, power / r.inferences_per_s * 1e6, "uJ"))
    for r in rows.x86:
        others = statistics.median(o.per_thread_w for o in rows.x86 if o is not r)
        out.append(HeldOutEnergy(X86, r.cpu, f"{r.threads} thread(s) busy", r.per_thread_w, others,
                                 "W/thread above idle"))
    for board in dict.fromkeys(r.board for r in rows.boards):
        mine = [r for r in rows.boards if r.board == board]
        for r in mine if len(mine) > 1 else ():
            out.append(HeldOutEnergy(PI, board, r.workload, r.above_w,
                                     statistics.median(o.above_w for o in mine if o is not r), "W above idle"))
    for label in dict.fromkeys(r.label for r in rows.networks):
        mine = [r for r in rows.networks if r.label == label]
        for r in mine:
            others = [o.above_w for o in mine if o.network != r.network]
            if others:  # leave the whole network out: its other quantizations too
                family = TPU_NET if r.runs_on == "edgetpu" else BOARD_NET
                out.append(HeldOutEnergy(family, label, f"{r.network} {r.quant}", r.mj,
                                         r.latency_ms * statistics.median(others), "mJ"))
    return out


def summarise(held: list[HeldOutEnergy]) -> dict[str, ErrorSummary]:
    """Median, worst and RMS held-out error per family (``targets.fit``'s summary, as for latency)."""
    families = dict.fromkeys(h.family for h in held)
    return {fam: summarise_errors([h for h in held if h.family == fam]) for fam in families}


def expected_errors(held: list[HeldOutEnergy]) -> dict[str, int]:
    """``{family: N}``: the RMS held-out error of the power, in percent, rounded up."""
    return {fam: math.ceil(s.rms_pct) for fam, s in summarise(held).items()}


def render(held: list[HeldOutEnergy], rows: Rows | None = None) -> str:
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


def write(held: list[HeldOutEnergy], doc: Path = DOC, expected: Path = EXPECTED_FILE) -> None:
    text = doc.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + render(held) + text[stop:])
    expected.write_text(json.dumps(expected_errors(held), indent=1, sort_keys=True) + "\n")
