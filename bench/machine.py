"""The one probe of what machine this is: CPU, ISA flags, cores, RAM, OS, governor, frequency, load, and who
it is (``identity``: board, architecture, CPU implementer and part, emulation).

Standard library only, and Python 3.7 compatible: ``bench.provenance`` uses it here, and the device runner
(``targets/device_facts.py``) uses the same file on a device, copied beside it or inlined when piped to
``python3 -``. So local and remote records report the same fields from the same code.
"""

from __future__ import annotations

import os
import platform

# ISA extensions that matter to TFLite/XNNPACK kernels (x86 and Arm); the rest of the flags are noise.
ISA = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8",
       "neon", "asimd", "asimddp", "fphp", "asimdhp", "sve", "i8mm", "bf16")
# /proc/cpuinfo "CPU part" of Arm cores (implementer 0x41); 64-bit Arm kernels print no model name.
# Source: Arm Technical Reference Manuals, MIDR_EL1 PartNum field of each core.
ARM_PARTS = {"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
             "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
             "0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78", "0xd44": "Cortex-X1",
             "0xd46": "Cortex-A510", "0xd47": "Cortex-A710", "0xd4b": "Cortex-A78C", "0xd40": "Neoverse-V1",
             "0xd4f": "Neoverse-V2", "0xd49": "Neoverse-N2"}
# Other implementers' own cores, keyed (implementer, part). Source: Linux arch/arm64/include/asm/cputype.h.
OTHER_PARTS = {("0x4e", "0x003"): "NVIDIA Denver 2", ("0x4e", "0x004"): "NVIDIA Carmel",
               ("0x51", "0x800"): "Kryo 2xx Gold", ("0x51", "0x801"): "Kryo 2xx Silver"}
# /proc/cpuinfo "CPU implementer" (MIDR_EL1 Implementer field; same header).
ARM_IMPLEMENTERS = {"0x41": "Arm", "0x42": "Broadcom", "0x43": "Cavium", "0x48": "HiSilicon", "0x4e": "NVIDIA",
                    "0x51": "Qualcomm", "0x61": "Apple", "0xc0": "Ampere"}
# platform.machine() spellings per architecture family, and the cpuinfo keys only that family prints
ARCH_FAMILY = {"x86_64": "x86", "amd64": "x86", "i686": "x86", "i386": "x86", "aarch64": "arm", "arm64": "arm",
               "armv7l": "arm", "armv6l": "arm", "armv8l": "arm", "riscv64": "riscv"}
BINFMT_DIR = "/proc/sys/fs/binfmt_misc"


def read(path: str) -> str | None:
    """A small text file (NULs dropped, stripped), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace").replace("\x00", "").strip()
    except OSError:
        return None


def cpuinfo(text: str | None = None) -> dict:
    """The first value of each key in ``/proc/cpuinfo`` (or ``text``)."""
    info: dict = {}
    for line in ((read("/proc/cpuinfo") if text is None else text) or "").splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def isa_flags(info: dict) -> list:
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return [f for f in ISA if f in flags]


def arm_core(info: dict) -> str | None:
    """The Arm core named by cpuinfo's "CPU implementer" and "CPU part" (Cortex-A72...), or None."""
    implementer, part = info.get("CPU implementer", "").lower(), info.get("CPU part", "").lower()
    if implementer == "0x41":
        return ARM_PARTS.get(part)
    return OTHER_PARTS.get((implementer, part))


def cpu_name(info: dict) -> str:
    return info.get("model name") or arm_core(info) or platform.processor() or platform.machine()


def cpuinfo_family(info: dict) -> str | None:
    """Which architecture family printed this cpuinfo: "x86" (vendor_id, flags), "arm" (CPU implementer,
    Features), or None when neither shows."""
    if "vendor_id" in info or "flags" in info:
        return "x86"
    if "CPU implementer" in info or "Features" in info:
        return "arm"
    return None


def binfmt_emulators(machine: str, where: str = BINFMT_DIR) -> list:
    """The enabled binfmt_misc handlers of qemu for ``machine`` (qemu-aarch64...): a userland run through one."""
    names = ["qemu-" + machine] + (["qemu-aarch64"] if machine == "arm64" else [])
    return [n for n in names if (read(os.path.join(where, n)) or "").startswith("enabled")]


def identity(info: dict | None = None, *, model: str | None = None, machine: str | None = None,
             binfmt_dir: str = BINFMT_DIR) -> dict:
    """Who this machine is: board, architecture, CPU implementer/part/core, ISA features, and emulation.

    qemu-user shows as a userland whose ``platform.machine()`` (aarch64) is not the family its /proc/cpuinfo
    was printed by (x86: the host's); an enabled binfmt_misc ``qemu-<machine>`` handler is another sign.
    Arguments replace what is read here (recorded texts in the tests).
    """
    info = cpuinfo() if info is None else info
    machine = machine or platform.machine()
    board_text = model if model is not None else board(info)
    family, seen = ARCH_FAMILY.get(machine.lower()), cpuinfo_family(info)
    signs = []
    if family and seen and family != seen:
        signs.append(f"{machine} userland, {seen} /proc/cpuinfo")
    signs += ["binfmt_misc " + n for n in binfmt_emulators(machine, binfmt_dir)]
    emulated = bool(signs)
    return {"machine": machine, "board": board_text or None,
            "implementer": info.get("CPU implementer", "").lower() or None,
            "implementer_name": ARM_IMPLEMENTERS.get(info.get("CPU implementer", "").lower()),
            "part": info.get("CPU part", "").lower() or None, "core": arm_core(info),
            "vendor": info.get("vendor_id") or None, "model_name": info.get("model name") or None,
            # the ISA of an emulated userland is qemu's, not the host's flags that /proc/cpuinfo shows
            "isa": [] if emulated else isa_flags(info), "emulated": emulated,
            "emulator": "qemu-user" if emulated else None, "emulation_signs": signs}


def ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def governor() -> str | None:
    """The CPU frequency governor of cpu0 (``performance``, ``powersave``...), or None when not exposed."""
    return read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def cpu_mhz() -> float | None:
    """cpu0's current frequency in MHz (cpufreq), else /proc/cpuinfo's "cpu MHz", else None."""
    khz = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    if khz and khz.isdigit():
        return round(int(khz) / 1000, 1)
    try:
        return round(float(cpuinfo().get("cpu MHz", "")), 1)
    except ValueError:
        return None


def load_average() -> list | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def state() -> dict:
    """What can change between rounds: the load average, cpu0's frequency and the governor."""
    return {"load_average": load_average(), "cpu_mhz": cpu_mhz(), "governor": governor()}


def board(info: dict) -> str | None:
    """The board: the device tree's model ("Raspberry Pi 4 Model B Rev 1.4"), else cpuinfo's Model/Hardware."""
    return read("/proc/device-tree/model") or info.get("Model") or info.get("Hardware")


def machine_facts() -> dict:
    """This machine: CPU model, architecture, cores, ISA flags, RAM, Python and governor."""
    info = cpuinfo()
    return {"cpu": cpu_name(info), "machine": platform.machine(), "cores": os.cpu_count(),
            "usable_cores": usable_cores(), "isa": isa_flags(info), "ram_gb": ram_gb(),
            "python": platform.python_version(), "governor": governor()}
