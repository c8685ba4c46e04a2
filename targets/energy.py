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
Where each part lives: the published rows in ``targets.energy_rows``, the cross-validation and its table in
``targets.energy_cv``, a measured result without a readable sensor in ``targets.energy_host``.

    python -m targets.energy           # the held-out table
    python -m targets.energy --write   # rewrite docs/energy.md's table and energy_expected_error.json
"""

from __future__ import annotations

import statistics
import sys

from edgekit.energy import EnergyFigure, combine_errors
from edgekit.result import Result
from targets.energy_rows import BOARD_NET, MCU, PI, TPU_NET, Rows, expected, load_rows
from targets.registry import Target


def estimate_energy(result: Result, target: Target, rows: Rows | None = None) -> EnergyFigure:
    """The energy estimate of one estimated ``edgekit bench`` result (its p50, threads, expected error and
    ``runs_on``) on ``target``; a figure without ``mj`` says why there is none."""
    info = result.estimate_info
    return price(result.p50_ms, result.expected_error_pct or 0, result.threads or 1,
                 info.runs_on if info is not None else None, target, rows or load_rows())


def price(ms: float | None, lat_pct: float, threads: int, runs_on: str | None, target: Target,
          rows: Rows) -> EnergyFigure:
    """``ms`` per inference on ``target`` (``runs_on``: ``"host-cpu"`` where its accelerator runs none of it)
    times its published power, with ``lat_pct`` (the latency's expected error) compounded into the band."""
    if ms is None:
        return EnergyFigure.unavailable("estimated", "no latency estimate to price")
    if target.mcu is not None:
        return _mcu(ms, lat_pct, target, rows)
    if target.accelerator is not None and runs_on != "host-cpu":
        return _tpu(ms, lat_pct, target, rows)
    if target.phone is not None:
        return EnergyFigure.unavailable("estimated", f"no public power figure for {target.phone.soc} running "
                                        "TFLite, so no energy estimate for a phone")
    host = target.key if target.accelerator is None else "rpi4" if target.key == "coral-usb" else target.key
    return _board(ms, lat_pct, threads, target, host, rows)


def band(mj: float, pct: float) -> tuple[float, float]:
    """The expected-error band around ``mj``: ``pct`` percent either side, never below 0."""
    return max(mj * (1 - pct / 100), 0.0), mj * (1 + pct / 100)


def cite(rows: Rows, source: str) -> str:
    """A row's source as a result names it: its URL and date."""
    s = rows.sources[source]
    return f"{s['url']} ({s['date']})"


def _mcu(ms: float, lat_pct: int, target: Target, rows: Rows) -> EnergyFigure:
    mine = [r for r in rows.tiny if r.target == target.key]
    if not mine:
        return EnergyFigure.unavailable("estimated", f"no published energy row for {target.key}")
    board = mine[0]
    j_per_cycle = statistics.median(r.power_w for r in mine) / (board.mhz * 1e6)
    mj = ms / 1e3 * target.mcu.mhz * 1e6 * j_per_cycle * 1e3
    pct = combine_errors(lat_pct, expected()[MCU])
    note = "" if board.mhz == target.mcu.mhz else (f"energy per cycle of {board.board} ({board.core} at {board.mhz:g} "
                                                   f"MHz) applied to {target.mcu.mhz:g} MHz")
    return EnergyFigure(mj=mj, measured=False, low_mj=band(mj, pct)[0], high_mj=band(mj, pct)[1],
                        expected_error_pct=pct, power_w=j_per_cycle * target.mcu.mhz * 1e6,
                        source=f"latency x {board.board} energy per cycle, MLPerf Tiny v1.0 "
                               f"{cite(rows, board.source)}",
                        covers="the MCU board's supply as MLPerf Tiny's EnergyRunner measures it (the DUT), "
                               "while inferring", note=note)


def _tpu(ms: float, lat_pct: int, target: Target, rows: Rows) -> EnergyFigure:
    measured = [r for r in rows.networks if r.runs_on == "edgetpu"]
    if measured:
        watts = statistics.median(r.above_w for r in measured)
        mj = ms * watts
        pct = combine_errors(lat_pct, expected()[TPU_NET])
        on = "" if target.key == "coral-devboard" else (" (the same Edge TPU as this target's; the USB host's "
                                                         "share is as the Dev Board's SoC's)")
        return EnergyFigure(mj=mj, measured=False, low_mj=band(mj, pct)[0], high_mj=band(mj, pct)[1],
                            expected_error_pct=pct, power_w=watts,
                            idle_w=statistics.median(r.idle_w for r in measured),
                            source=f"latency x {watts:.3g} W above idle, the median of {len(measured)} models "
                                   f"DeepEdgeBench ran on the {measured[0].board}'s Edge TPU{on}, "
                                   f"{cite(rows, measured[0].source)}",
                            covers="the Coral Dev Board at its 5 V input, above idle, while the Edge TPU ran: the "
                                   "TPU and the SoC feeding it")
    acc = next(a for a in rows.accelerators if target.key in a["targets"])
    mj = ms * acc["watts"]
    return EnergyFigure(mj=mj, measured=False, low_mj=band(mj, lat_pct)[0], high_mj=band(mj, lat_pct)[1],
                        expected_error_pct=lat_pct, power_w=acc["watts"],
                        source=f"latency x the Edge TPU's rated {acc['watts']:g} W "
                               f"({acc['tops']:g} TOPS at {acc['tops'] / acc['watts']:g} TOPS/W), "
                               f"{cite(rows, acc['source'])}",
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
        pct = combine_errors(lat_pct, expected()[BOARD_NET])
        return EnergyFigure(mj=mj, measured=False, low_mj=band(mj, pct)[0], high_mj=band(mj, pct)[1],
                            expected_error_pct=pct, power_w=watts,
                            idle_w=statistics.median(r.idle_w for r in measured),
                            source=f"latency x {per_core:.3g} W per busy core above idle, the median of "
                                   f"{len(measured)} TFLite models DeepEdgeBench ran on the {measured[0].board} "
                                   f"(one thread), x {busy} thread(s), {cite(rows, measured[0].source)}",
                            covers="the whole board at its 5 V input, above idle")
    mine = [r for r in rows.boards if r.target == key]
    if not mine or target.cpu is None:
        return EnergyFigure.unavailable("estimated", f"no published power figure for {target.key}'s board")
    cores = target.cpu.cores
    share = min(threads, cores) / cores
    watts = statistics.median(r.above_w for r in mine) * share
    mj = ms * watts
    pct = combine_errors(lat_pct, expected()[PI])
    return EnergyFigure(mj=mj, measured=False, low_mj=band(mj, pct)[0], high_mj=band(mj, pct)[1],
                        expected_error_pct=pct, power_w=watts, idle_w=statistics.median(r.idle_w for r in mine),
                        source=f"latency x {mine[0].board} power above idle at the wall "
                               f"x {min(threads, cores)}/{cores} cores, {cite(rows, mine[0].source)}",
                        covers="the whole board at the wall (power supply included), above idle")


def main(argv: list[str]) -> None:
    from targets.energy_cv import cross_validate, render, write

    held = cross_validate()
    if argv[:1] == ["--write"]:
        write(held)
    print(render(held))


if __name__ == "__main__":
    main(sys.argv[1:])
