"""Raspberry Pi 5 power from its PMIC, sampled beside the timed loop: standard library only.

``vcgencmd pmic_read_adc`` prints the PMIC's ADC readings, one per line, a current and a voltage per rail::

       3V7_WL_SW_A current(0)=0.00390372A
       ...
       3V7_WL_SW_V volt(8)=3.74139300V
       ...
       EXT5V_V volt(24)=5.15129000V

Power is the sum over rails of volts x amps (a rail ``X`` has ``X_A`` and ``X_V``). It covers the PMIC's
outputs: the SoC (VDD_CORE), DDR, the 3.3 V, 1.8 V and 1.1 V rails, Wi-Fi. It does not cover what the 5 V input
feeds directly (USB ports, the fan, HATs) nor the PMIC's own losses, so it is less than a USB power meter reads.

Like ``bench/loop.py`` this module runs on the device alone (the ssh runner copies it beside ``loop.py``).
:class:`PmicSampler` is a cumulative counter in microjoules (``read_uj``). :func:`round_energy`, the reading of
one round beside its timed loop, is shared with every sensor here (``bench.energy``), so it is stdlib-only too;
:func:`with_pmic` is what ``targets/device_run.py`` wraps a round with.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable

LINE = re.compile(r"^\s*(?P<rail>\S+)_(?P<kind>[AV])\s+(?:current|volt)\(\d+\)=(?P<value>[-+0-9.eE]+)[AV]\s*$")
COVERS = ("the PMIC's output rails (SoC core, DDR, 3.3/1.8/1.1 V, Wi-Fi): not USB, fan or HAT power from the 5 V "
          "input, nor the PMIC's losses")
PERIOD_S = 0.1


def parse(text: str) -> dict[str, tuple[float, float]]:
    """``{rail: (volts, amps)}`` for every rail with both readings; other lines are ignored."""
    volts, amps = {}, {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            (amps if m["kind"] == "A" else volts)[m["rail"]] = float(m["value"])
    return {r: (volts[r], amps[r]) for r in volts.keys() & amps.keys()}


def power_w(text: str) -> float:
    """Total power of the PMIC's rails, in watts, from one ``pmic_read_adc`` output."""
    rails = parse(text)
    if not rails:
        raise ValueError("no rail with both a current and a voltage in the pmic_read_adc output")
    return sum(v * a for v, a in rails.values())


def read_pmic(command: tuple[str, ...] = ("vcgencmd", "pmic_read_adc")) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=5).stdout


class PowerSampler:
    """Integrates a power reading (W) over time in a background thread, as a cumulative counter in uJ
    (trapezoids between samples ``period_s`` apart): the Pi 5's PMIC here, NVML's power on older GPUs
    (``bench.energy``)."""

    def __init__(self, power_w: Callable[[], float], period_s: float, clock: Callable[[], float] = time.monotonic):
        self.power_w, self.period_s, self.clock = power_w, period_s, clock
        self._lock = threading.Lock()
        self._t, self._p, self._uj = clock(), float(power_w()), 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        p = float(self.power_w())
        t = self.clock()
        with self._lock:
            self._uj += (p + self._p) / 2 * (t - self._t) * 1e6
            self._t, self._p = t, p

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self._sample()

    def read_uj(self) -> float:
        self._sample()
        with self._lock:
            return self._uj

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class PmicSampler(PowerSampler):
    """Samples the PMIC every ``period_s`` in a thread and integrates power over time (trapezoids), in uJ."""

    name = "Raspberry Pi 5 PMIC (vcgencmd pmic_read_adc)"
    covers = COVERS

    def __init__(self, period_s: float = PERIOD_S, read=read_pmic, clock=time.monotonic):
        super().__init__(lambda: power_w(read()), period_s, clock)


def round_energy(counter, block, *, idle_s: float, calls, clock=time.monotonic, sleep=time.sleep) -> tuple[dict, dict]:
    """Read ``counter`` (``read_uj``) over an idle pause of ``idle_s`` (the idle baseline), then across ``block``
    (one round's loop). Returns ``(block's result, readings)``: ``idle_uj``, ``idle_s``, ``busy_uj``, ``busy_s``,
    ``calls`` (the inferences ``block`` ran, ``calls(result)``), ``sensor``, ``covers``, ``period_s``."""
    e0, t0 = counter.read_uj(), clock()
    sleep(idle_s)
    e1, t1 = counter.read_uj(), clock()
    out = block()
    e2, t2 = counter.read_uj(), clock()
    return out, {"idle_uj": e1 - e0, "idle_s": t1 - t0, "busy_uj": e2 - e1, "busy_s": t2 - t1,
                 "calls": calls(out), "sensor": counter.name, "covers": counter.covers, "period_s": counter.period_s}


def measured_calls(loop: dict) -> int:
    """The inferences one ``bench.loop.measure_calls`` round ran: the first, the warmup and the timed ones."""
    return 1 + int(loop.get("warmup_runs", 0)) + len(loop["samples_ms"]) * int(loop.get("batch", 1))


def with_pmic(block, *, idle_s: float = 0.3, sampler=PmicSampler) -> dict:
    """One round's loop (``block``) with the PMIC sampled beside it: the dict gains ``energy`` (the readings),
    or ``energy_unavailable`` (one line: not a Raspberry Pi 5, or vcgencmd failed)."""
    try:
        counter = sampler()
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        return {**block(), "energy_unavailable": f"no Raspberry Pi 5 PMIC reading here (vcgencmd pmic_read_adc: "
                                                  f"{str(err).splitlines()[0] if str(err) else type(err).__name__})"}
    try:
        out, readings = round_energy(counter, block, idle_s=idle_s, calls=measured_calls)
    finally:
        counter.close()
    return {**out, "energy": readings}
