"""What a device is and what it has installed, read on the device itself. Standard library only.

edgekit copies this file to the device (``targets.remote``) or pipes it to ``python3 -`` (``edgekit targets
check``); nothing of edgekit is installed there. ``facts()`` has the keys of ``bench.provenance.device()``
plus the board, kernel, CPU temperature and the ``vcgencmd`` throttling flags; ``check()`` says what the
benchmark needs and whether it is there.

    python3 device_facts.py            # prints {"facts": {...}, "check": {...}}
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import shutil
import subprocess
import sys

if __package__:  # imported as targets.device_facts in an edgekit checkout: the probe is bench/machine.py
    machine = importlib.import_module("bench.machine")
else:  # on a device: machine.py is copied beside this file, or inlined by targets.device_check
    import machine

# vcgencmd get_throttled: bit -> meaning (https://www.raspberrypi.com/documentation/computers/os.html#get_throttled)
_THROTTLE_BITS = {0: "under-voltage now", 1: "ARM frequency capped now", 2: "throttled now",
                  3: "soft temperature limit now", 16: "under-voltage occurred", 17: "ARM frequency capping occurred",
                  18: "throttling occurred", 19: "soft temperature limit occurred"}
EDGETPU_LIBRARY = "libedgetpu.so.1"


def _os_name() -> str:
    for line in (machine.read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return platform.system()


def _vcgencmd(*args: str) -> str | None:
    exe = shutil.which("vcgencmd") or ("/usr/bin/vcgencmd" if os.path.exists("/usr/bin/vcgencmd") else None)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.partition("=")[2] or None


def cpu_temp_c() -> float | None:
    """The SoC temperature: ``vcgencmd measure_temp`` on a Pi, else thermal zone 0, else None."""
    text = _vcgencmd("measure_temp")
    if text:
        try:
            return float(text.rstrip("'C"))
        except ValueError:
            pass
    zone = machine.read("/sys/class/thermal/thermal_zone0/temp")
    return round(int(zone) / 1000, 1) if zone and zone.lstrip("-").isdigit() else None


def throttled() -> dict | None:
    """``vcgencmd get_throttled`` decoded: ``{"raw": "0x50000", "flags": [...]}``, or None without vcgencmd."""
    text = _vcgencmd("get_throttled")
    if not text:
        return None
    try:
        bits = int(text, 16)
    except ValueError:
        return {"raw": text, "flags": []}
    return {"raw": text, "flags": [name for bit, name in _THROTTLE_BITS.items() if bits >> bit & 1]}


def facts() -> dict:
    """The device: board, CPU, cores, ISA flags, RAM, OS, kernel, Python, governor, temperature, throttling,
    and its identity (``bench.machine.identity``: CPU implementer/part, emulation)."""
    info = machine.cpuinfo()
    who = machine.identity(info)
    cpu = machine.cpu_name(info)
    if who["emulated"]:  # /proc/cpuinfo describes the host that runs the emulator, not this userland
        cpu = f"{who['machine']} emulated by {who['emulator']} on {cpu}"
    return {"board": who["board"], "cpu": cpu, "machine": who["machine"],
            "cores": os.cpu_count(), "usable_cores": machine.usable_cores(), "isa": who["isa"],
            "identity": who, "emulated": who["emulated"],
            "ram_gb": machine.ram_gb(), "os": _os_name(),
            "kernel": f"{platform.release()} {platform.version()}", "python": platform.python_version(),
            "governor": machine.read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "cpu_temp_c": cpu_temp_c(), "throttled": throttled()}


def dist_version(dist: str, module: str | None = None) -> str | None:
    """A distribution's version; on Python 3.7 (Coral Dev Board's Mendel) the module's ``__version__``."""
    try:
        from importlib import metadata
    except ImportError:
        return getattr(sys.modules.get(module or ""), "__version__", None)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _try_import(module: str) -> str | None:
    """None when ``module`` imports, else the first line of why not."""
    import importlib

    try:
        importlib.import_module(module)
    except Exception as err:  # a broken install raises anything, tflite_runtime on numpy 2 an AttributeError
        return (str(err).splitlines() or [type(err).__name__])[0]
    return None


def edgetpu_library() -> str | None:
    """None when ``libedgetpu.so.1`` loads, else why not."""
    import ctypes

    try:
        ctypes.CDLL(EDGETPU_LIBRARY)
    except OSError as err:
        return str(err)
    return None


def check() -> dict:
    """What the benchmark needs: numpy, one TFLite runtime, and (for Coral) the Edge TPU library."""
    numpy_error = _try_import("numpy")
    runtimes = {}
    for module, dist in (("ai_edge_litert", "ai-edge-litert"), ("tflite_runtime", "tflite-runtime")):
        error = _try_import(module + ".interpreter") if numpy_error is None else "numpy is missing"
        runtimes[dist] = {"version": dist_version(dist, module), "error": error}
    return {"python": platform.python_version(), "executable": sys.executable,
            "numpy": dist_version("numpy", "numpy"), "numpy_error": numpy_error, "runtimes": runtimes,
            "edgetpu_error": edgetpu_library()}


if __name__ == "__main__":
    sys.stdout.write(json.dumps({"facts": facts(), "check": check()}) + "\n")
