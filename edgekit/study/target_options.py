"""The study's ``TARGET=VALUE`` options: ``--host rpi4=pi@raspberrypi`` and ``--serial pixel4=SERIAL``, each checked
against the target it names and the study's --targets, and the phones' benchmark_model binary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgekit.errors import UsageError


def _target_pairs(values: list[str] | None, targets: list[str], *, option: str, usage: str, one: str,
                  check: Callable[[str, object, str], None], refused: tuple[str, ...] = (),
                  then: Callable[[str], None] | None = None) -> dict:
    """``TARGET=VALUE`` options (``--host``, ``--serial``) as ``{target key: value}``, in one loop: each well
    formed (else "``option`` TEXT must be ``usage``"; a value in ``refused`` too), its target known, passing
    ``check(text, target, value)``, in --targets, named once ("give one ``one`` per target"), then ``then(value)``."""
    from targets.registry import get_target

    pairs = {}
    for text in values or []:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip() or value.strip() in refused:
            raise UsageError(f"{option} {text!r} must be {usage}")
        target = get_target(name.strip())  # an unknown target: "unknown target ..., choose from ..."
        check(text, target, value.strip())
        if target.key not in targets:
            raise UsageError(f"{option} {text!r}: {target.key} is not in --targets ({', '.join(targets)}); add it")
        if target.key in pairs:
            raise UsageError(f"{option} names {target.key} twice; give one {one} per target")
        if then is not None:
            then(value.strip())
        pairs[target.key] = value.strip()
    return pairs


def parse_hosts(values: list[str] | None, targets: list[str]) -> dict:
    """``["rpi4=pi@raspberrypi"]`` -> ``{"rpi4": "pi@raspberrypi"}``, each target known, remote and studied."""
    from targets.registry import Reach

    def check(text: str, target, host: str) -> None:
        if target.reach is Reach.LOCAL:
            raise UsageError(f"--host {text!r}: {target.key} is this machine and is measured here; --host is for "
                             "device targets (rpi4, rpi5, coral-usb, ...)")
        if target.reach is Reach.ADB:
            raise UsageError(f"--host {text!r}: {target.key} is a phone, measured over adb; give it as --serial "
                             f"{target.key}=SERIAL")
        if target.reach is Reach.MCU:
            raise UsageError(f"--host {text!r}: {target.key} is a microcontroller, run in TFLite Micro on this machine "
                             "with its latency estimated; drop --host for it")

    return _target_pairs(values, targets, option="--host", one="host", check=check, then=_check_host,
                         usage="TARGET=HOST, e.g. --host rpi4=pi@raspberrypi.local")


def parse_serials(values: list[str] | None, targets: list[str]) -> dict:
    """``["pixel4=0A1B2C"]`` -> ``{"pixel4": "0A1B2C"}``: each a phone target (or ``android``) in --targets, once."""
    from targets.registry import Reach

    usage = "TARGET=SERIAL (a serial from `adb devices`), e.g. --serial pixel4=0A1B2C3D"

    def check(text: str, target, _serial: str) -> None:
        if target.reach is not Reach.ADB:
            raise UsageError(f"--serial {text!r}: {target.key} is not a phone; --serial is for phone targets "
                             "(android, pixel4, a TOML phone) and --host for boards")

    return _target_pairs(values, targets, option="--serial", usage=usage, one="phone", check=check,
                         refused=("all",))


def check_phones(serials: dict, targets: list[str], binary: Path | None) -> Path | None:
    """``android`` needs its serial; measuring a phone needs the benchmark_model binary (``--benchmark-binary``,
    or the one ``edgekit android fetch`` installed), checked now. Returns the binary to push."""
    if "android" in targets and "android" not in serials:
        raise UsageError("--targets android measures a phone as what it is and has no estimate; add --serial "
                         "android=SERIAL, or name the phone's target (pixel4, a TOML phone) to estimate it")
    if not serials:
        if binary is not None:
            raise UsageError("--benchmark-binary is for phones measured with --serial TARGET=SERIAL; add one or "
                             "drop it")
        return None
    from edgekit.app.android import phone_binary

    return phone_binary(binary)


def _check_host(host: str) -> None:
    from targets.ssh import parse_host

    parse_host(host)
