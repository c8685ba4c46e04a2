"""Measured energy: read a sensor beside the timed loop, one round at a time, and make the figure from the rounds.

Sensors (each a cumulative counter in microjoules, :class:`Counter`):

- **RAPL** on x86 Linux (Intel, and AMD since Linux 5.8): ``/sys/class/powercap/intel-rapl:N/energy_uj`` of each
  *package* domain (its ``name`` file reads ``package-N``). It counts the whole CPU socket (cores, caches, uncore,
  on some parts the memory controller), not the process. The counter wraps at ``max_energy_range_uj``. Since
  CVE-2020-8694 (Platypus) ``energy_uj`` is readable by root only on most distributions. ``EDGEKIT_POWERCAP``
  (or the ``root`` argument) points at another powercap tree, which is how tests run without RAPL.
- **NVML** on NVIDIA GPUs (``nvidia-ml-py``, module ``pynvml``, in the ``[gpu]`` extra):
  ``nvmlDeviceGetTotalEnergyConsumption`` in mJ (Volta and newer), else ``nvmlDeviceGetPowerUsage`` (mW) sampled
  in a thread. It counts the whole board, every process on it.

A round (``bench.child``) reads the counter over an idle pause first (the idle baseline), then across the timed
loop; :func:`round_energy` returns those readings. :func:`figure_from_rounds` makes the energy per inference
above idle of each round and summarises the rounds as latency is (``bench.protocol``: median and its 95%
order-statistic interval).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.energy_pi5 import PowerSampler as Sampler
from bench.energy_pi5 import measured_calls, round_energy
from bench.protocol import summarize_rounds
from edgekit.energy import EnergyFigure

POWERCAP_ENV = "EDGEKIT_POWERCAP"
POWERCAP = "/sys/class/powercap"
IDLE_SECONDS = 0.3
RAPL_COVERS = "package energy: the whole CPU socket (every process on it), not this process; no DRAM, board or PSU"
NVML_COVERS = "the whole GPU board (every process on it), not the host CPU"


class SensorUnavailable(Exception):
    """The sensor is absent or unreadable; the message is one line saying why and how to allow it."""


class Counter:
    """A cumulative energy counter in microjoules."""

    name: str = ""
    covers: str = ""
    period_s: float | None = None

    def read_uj(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        return None


def powercap_root(root: str | os.PathLike | None = None) -> Path:
    return Path(root or os.environ.get(POWERCAP_ENV) or POWERCAP)


@dataclass(frozen=True)
class RaplDomain:
    path: Path
    name: str  # "package-0"
    max_uj: int  # the counter wraps here


class Rapl(Counter):
    """The sum of every package domain's ``energy_uj``, unwrapped (each counter wraps at its own range)."""

    covers = RAPL_COVERS

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = powercap_root(root)
        self.domains = package_domains(self.root)
        self.name = "RAPL " + "+".join(d.name for d in self.domains)
        self._last = [self._raw(d) for d in self.domains]
        self._total = 0.0

    @staticmethod
    def _raw(domain: RaplDomain) -> int:
        try:
            return int((domain.path / "energy_uj").read_text())
        except PermissionError:
            raise SensorUnavailable(unreadable_message(domain.path / "energy_uj")) from None
        except (OSError, ValueError) as err:
            raise SensorUnavailable(f"RAPL: cannot read {domain.path / 'energy_uj'} ({err})") from None

    def read_uj(self) -> float:
        for i, d in enumerate(self.domains):
            now = self._raw(d)
            self._total += delta_uj(self._last[i], now, d.max_uj)
            self._last[i] = now
        return self._total


def delta_uj(before: int, after: int, max_uj: int) -> int:
    """What the counter advanced from ``before`` to ``after``, across one wrap at ``max_uj`` if it went back."""
    return after - before if after >= before else after + max_uj - before


def package_domains(root: Path) -> list[RaplDomain]:
    """The package domains under a powercap tree (``intel-rapl:0``, ``intel-rapl:1`` ... named ``package-N``)."""
    if not root.is_dir():
        raise SensorUnavailable(f"no RAPL here: {root} does not exist (not Linux on x86, or a virtual machine, "
                                "which does not expose RAPL)")
    out = []
    for d in sorted(root.glob("intel-rapl:*")):
        if d.name.count(":") != 1:  # intel-rapl:0:0 is a subdomain (core, uncore, dram) of a package
            continue
        try:
            name = (d / "name").read_text().strip()
            max_uj = int((d / "max_energy_range_uj").read_text())
        except PermissionError:
            raise SensorUnavailable(unreadable_message(d / "max_energy_range_uj")) from None
        except (OSError, ValueError):
            continue
        if name.startswith("package-"):
            out.append(RaplDomain(d, name, max_uj))
    if not out:
        raise SensorUnavailable(f"no RAPL package domain under {root} (no intel-rapl:N with name package-N)")
    return out


def unreadable_message(path: Path) -> str:
    """One line: why RAPL cannot be read (root-only since CVE-2020-8694) and how to allow it."""
    return (f"RAPL is not readable by this user ({path} is root-only since CVE-2020-8694); allow it with "
            f"'sudo chmod o+r {path}' (until reboot) or a udev rule, e.g. ACTION==\"add\", SUBSYSTEM==\"powercap\", "
            "RUN+=\"/bin/chmod o+r /sys%p/energy_uj\"")


class Nvml(Counter):
    """NVML: the total-energy counter (mJ, Volta and newer), else power samples (mW) integrated in a thread."""

    covers = NVML_COVERS

    def __init__(self, index: int = 0, *, module=None, period_s: float = 0.02):
        self.nv = module or _import_pynvml()
        try:
            self.nv.nvmlInit()
            self.handle = self.nv.nvmlDeviceGetHandleByIndex(index)
        except Exception as err:  # pynvml raises NVMLError subclasses
            raise SensorUnavailable(f"NVML: no GPU {index} ({err})") from None
        try:
            self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            self.name, self._sampler = f"NVML total energy (GPU {index})", None
        except Exception:  # older than Volta: NVMLError_NotSupported
            self.name, self.period_s = f"NVML power samples (GPU {index})", period_s
            self._sampler = Sampler(lambda: self.nv.nvmlDeviceGetPowerUsage(self.handle) / 1e3, period_s)

    def read_uj(self) -> float:
        if self._sampler is not None:
            return self._sampler.read_uj()
        return float(self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)) * 1e3

    def close(self) -> None:
        if self._sampler is not None:
            self._sampler.close()
        try:
            self.nv.nvmlShutdown()
        except Exception:
            pass


def _import_pynvml():
    try:
        import pynvml
    except ImportError:
        raise SensorUnavailable("NVML is not installed: pip install nvidia-ml-py (in edgekit's [gpu] extra)") from None
    return pynvml


def open_counter(target: str, *, root: str | os.PathLike | None = None, nvml_module=None) -> Counter:
    """The sensor for a local target: NVML for ``gpu``, RAPL otherwise. Raises SensorUnavailable."""
    return Nvml(module=nvml_module) if target == "gpu" else Rapl(root)


def per_inference_mj(r: dict) -> tuple[float, float, float]:
    """(mJ per inference above idle, idle W, W above idle while running) from one round's readings."""
    idle_w = r["idle_uj"] / r["idle_s"] / 1e6 if r["idle_s"] > 0 else 0.0
    above_uj = max(r["busy_uj"] - idle_w * r["busy_s"] * 1e6, 0.0)
    return above_uj / r["calls"] / 1e3, idle_w, above_uj / r["busy_s"] / 1e6 if r["busy_s"] > 0 else 0.0


def figure_from_rounds(rounds: list[dict]) -> EnergyFigure:
    """The measured figure of a configuration from its rounds' ``energy`` readings (``bench.child``): the median
    over rounds of the energy per inference above idle, with its 95% interval; or why there is none."""
    readings = [r.get("energy") for r in rounds]
    missing = next((r["energy_unavailable"] for r in rounds if "energy_unavailable" in r), None)
    if missing is not None or not readings or any(x is None for x in readings):
        return EnergyFigure.unavailable("none", missing or "no energy sensor was read in this run")
    per = [per_inference_mj(r) for r in readings]
    mj = summarize_rounds([p[0] for p in per])
    first = readings[0]
    return EnergyFigure(mj=mj.p50, low_mj=mj.ci95[0], high_mj=mj.ci95[1], measured=True, source=first["sensor"],
                        covers=first["covers"], power_w=summarize_rounds([p[2] for p in per]).p50,
                        idle_w=summarize_rounds([p[1] for p in per]).p50, period_s=first["period_s"],
                        rounds=len(per), note="" if mj.rounds >= 6 else "fewer than 6 rounds: [min, max], not a 95% "
                                                                         "interval")


def measure_mj(block: Callable[[], object], *, counter: Counter | None = None, index: int = 0,
               module=None) -> tuple[object, float, float]:
    """Wrap a timed block with the GPU's energy counter: ``(block's result, mJ spent, seconds)``.

    For scripts (e.g. a GPU check): ``out, mj, s = measure_mj(lambda: run(n))``; divide ``mj`` by the
    inferences ``run`` made. Nothing is subtracted for idle: read an idle block the same way for that.
    """
    own = counter is None
    counter = counter or Nvml(index, module=module)
    try:
        e0, t0 = counter.read_uj(), time.monotonic()
        out = block()
        e1, t1 = counter.read_uj(), time.monotonic()
    finally:
        if own:
            counter.close()
    return out, (e1 - e0) / 1e3, t1 - t0


def with_energy(target: str, block: Callable[[], dict], *, root: str | os.PathLike | None = None,
                idle_s: float = IDLE_SECONDS) -> dict:
    """Run one round's loop (``block``, returning ``bench.loop.measure_calls``' dict) with the target's sensor
    read beside it: the dict gains ``energy`` (the readings), or ``energy_unavailable`` (one line, why)."""
    try:
        counter = open_counter(target, root=root)
    except SensorUnavailable as err:
        return {**block(), "energy_unavailable": str(err)}
    try:
        out, readings = round_energy(counter, block, idle_s=idle_s, calls=measured_calls)
    except SensorUnavailable as err:
        return {**block(), "energy_unavailable": str(err)}
    finally:
        counter.close()
    return {**out, "energy": readings}
