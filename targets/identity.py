"""Is the device the target it is said to be? Checked before anything is measured on it.

The device's identity is ``bench.machine.identity()``, read on the device as part of its facts
(``targets/device_facts.py``): board (``/proc/device-tree/model``), architecture, CPU implementer and part, and
whether it runs under qemu-user. A built-in target lists what its device must show (``Target.expected``); a
target without that list accepts any real device. No target accepts an emulated one: ``--target auto``
measures it as itself, marked ``emulated``.
"""

from __future__ import annotations

from edgekit.errors import UsageError
from targets.builtin import REGISTRY
from targets.records import Expected, Reach, Target, TargetName


class IdentityError(UsageError):
    """The device is not the target it was named as (exit 2, before anything is measured)."""


def matches(expected: Expected, who: dict) -> bool:
    """Whether a real device ``who`` shows the board and CPU part ``expected`` lists.

    The board decides when the device tree names one (a Pi 4 must say "Raspberry Pi 4"), and its CPU part
    must then agree; without a device tree (a container on the board), the CPU part alone decides.
    """
    if who.get("emulated"):
        return False
    part_ok = who.get("implementer") == "0x41" and who.get("part") in expected.parts
    board = (who.get("board") or "").lower()
    if board:
        return any(b.lower() in board for b in expected.boards) and (who.get("part") is None or part_ok)
    return part_ok


def describe(who: dict) -> str:
    """The device in a few words: "a Raspberry Pi 5 Model B Rev 1.0 (Cortex-A76)", "a generic aarch64
    (emulated under qemu)", "a generic x86_64 (AMD EPYC 7B13 64-Core Processor)"."""
    machine = who.get("machine") or "unknown machine"
    if who.get("emulated"):
        return f"a generic {machine} (emulated under qemu)"
    core = who.get("core") or who.get("model_name") or (who.get("part") and f"CPU part {who['part']}")
    detail = f" ({core})" if core else ""
    if who.get("board"):
        return f"a {who['board']}{detail}"
    return f"a generic {machine}{detail}"


def check(target: Target, facts: dict, host: str) -> None:
    """Refuse to measure ``host`` as ``target`` when its facts say it is something else.

    Raises:
        IdentityError: one line naming the host, what it is, and the target it is not.
    """
    if target.name == TargetName.AUTO:
        return
    who = facts.get("identity") or {}
    if who.get("emulated") or (target.expected is not None and not matches(target.expected, who)):
        raise IdentityError(f"{host} is {describe(who)}, not a {target.title}; use --target auto to measure it "
                            "as itself")


def measured_target(target: Target, facts: dict, host: str) -> Target:
    """The target ``host`` is measured as: ``target`` itself once checked; for ``auto``, the built-in board it
    is (rpi4, rpi5) or a generic target named after its architecture (``aarch64``, ``x86_64``)."""
    check(target, facts, host)
    if target.name != TargetName.AUTO:
        return target
    who = facts.get("identity") or {}
    for known in REGISTRY.values():
        if known.expected is not None and known.delegate is None and matches(known.expected, who):
            return known
    machine = who.get("machine") or "unknown"
    return Target(machine, f"{describe(who)[2:]}, detected", Reach.SSH, None, origin="detected")


def emulation_warning(device: dict) -> str | None:
    """The warning an emulated result carries, or None for a real device."""
    who = device.get("identity") or {}
    if not who.get("emulated"):
        return None
    signs = "; ".join(who.get("emulation_signs") or [])
    return (f"emulated: this {who.get('machine')} userland runs under {who.get('emulator')} ({signs}); its "
            "timings are not any device's speed, and the study leaves them out")
