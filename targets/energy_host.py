"""Energy for a measured result whose sensor could not be read: its measured latency priced with published power.

A board measured over ssh (a Pi 4 has no sensor, a Coral's TPU neither) is priced as ``targets.energy`` prices an
estimate, with the power's held-out error alone; a host with a published row for its CPU (``hosts`` in
energy_rows.json) with that row; an x86 host whose RAPL cannot be read with the median of the profiled x86 CPUs.
:func:`with_host_fallback` is the one place a measured result gets that figure.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from edgekit.energy import EnergyFigure
from edgekit.result import Result
from targets.energy import band, cite, price
from targets.energy_rows import X86, Rows, expected, load_rows
from targets.registry import Target


def host_fallback(result: Result, measured: EnergyFigure, rows: Rows | None = None) -> EnergyFigure:
    """A measured result whose sensor could not be read: an estimate from a published power row for its CPU,
    when there is one (``hosts`` in energy_rows.json), else the sensor's reason with that said too."""
    rows = rows or load_rows()
    ms = result.p50_ms
    device = _device_target(result.target)
    if device is not None and ms is not None:
        return _device_estimate(result, ms, measured, device, rows)
    cpu = ((result.extra.get("device") or {}).get("cpu") or "").strip()
    row = next((h for h in rows.hosts if h["cpu"] == cpu), None)
    if row is None and result.target == "cpu" and rows.x86 and _x86():
        return _x86_estimate(result, ms, measured, rows)
    if row is None or ms is None:
        return EnergyFigure.unavailable("none", f"{measured.note}; and no published power figure for the CPU "
                                                f"{cpu!r} to estimate from (targets/data/energy_rows.json 'hosts')")
    threads = result.threads or 1
    watts = row["watts_per_core"] * threads
    mj = ms * watts
    pct = row["expected_error_pct"]
    low, high = band(mj, pct)
    return EnergyFigure(mj=mj, measured=False, low_mj=low, high_mj=high, expected_error_pct=pct, power_w=watts,
                        source=f"measured latency x {row['watts_per_core']:g} W per core, {cite(rows, row['source'])}",
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


def _device_estimate(result: Result, ms: float, measured: EnergyFigure, target: Target, rows: Rows) -> EnergyFigure:
    """A board measured over ssh whose sensor could not be read (a Pi 4 has none; a Coral's TPU neither): its
    measured latency ``ms`` priced as an estimate would be, with the power's held-out error alone."""
    runs_on = "edgetpu" if result.extra.get("delegate") == "edgetpu" else "host-cpu"
    fig = price(ms, 0, result.threads or 1, runs_on, target, rows)
    if fig.mj is None:
        return EnergyFigure.unavailable("none", f"{measured.note}; and {fig.note}")
    return replace(fig, source="measured " + fig.source,
                   note="; ".join(n for n in (measured.note, fig.note) if n))


def _x86() -> bool:
    import platform

    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def _x86_estimate(result: Result, ms: float, measured: EnergyFigure, rows: Rows) -> EnergyFigure:
    """This x86 machine's measured latency ``ms`` x the median RAPL package power per busy thread above idle of the
    profiled CPUs (their lightest load step: what one inference thread wakes), x threads."""
    threads = result.threads or 1
    per_thread = statistics.median(r.per_thread_w for r in rows.x86)
    watts = per_thread * threads
    mj = ms * watts
    pct = expected()[X86]
    low, high = band(mj, pct)
    return EnergyFigure(mj=mj, measured=False, low_mj=low, high_mj=high, expected_error_pct=pct, power_w=watts,
                        source=f"measured latency x {per_thread:.3g} W per busy thread, the median RAPL package "
                               f"power above idle of {len(rows.x86)} profiled x86 CPUs, "
                               f"{cite(rows, rows.x86[0].source)}",
                        covers="package power (the whole socket) as RAPL would read it, above idle, for this run's "
                               "threads; not this machine's own CPU, whose sensor could not be read",
                        note=measured.note)


def with_host_fallback(result: Result) -> Result:
    """A measured result, with the estimate (or why there is none) in place of a sensor that could not be read."""
    fig = result.energy
    if fig is None or fig.mj is not None or result.figures is None:
        return result
    return replace(result, energy=host_fallback(result, fig))
