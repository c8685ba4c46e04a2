"""adb and the phones it reaches: which are attached and usable, what each one is (``getprop``), whether it may be
measured as a target, and the ``benchmark_model`` binary pushed to it. ``targets.android`` measures on them.

Every failure is an :class:`AdbError` (or a UsageError for what the user gave), one line naming the serial and
what to do.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, UsageError

ADB_HINT = ("install Android's platform tools (Debian/Ubuntu: apt install adb; others: "
            "https://developer.android.com/tools/releases/platform-tools) and put adb on PATH")
PROPS = ("ro.product.manufacturer", "ro.product.model", "ro.soc.model", "ro.board.platform", "ro.product.cpu.abi",
         "ro.build.fingerprint", "ro.kernel.qemu", "ro.hardware")
_ELF_AARCH64 = 183  # e_machine of an arm64 ELF (the android_arm64 benchmark_model)


class AdbError(EdgekitError):
    """adb, the phone or benchmark_model failed; the message names the serial."""


def adb_path() -> str:
    found = shutil.which("adb")
    if found is None:
        raise UsageError(f"adb was not found on PATH; {ADB_HINT}")
    return found


def run_adb(*args: str, serial: str | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess:
    """``adb [-s SERIAL] ARGS``; a timeout, or a failure when ``check``, is an AdbError naming the serial."""
    argv = [adb_path(), *(("-s", serial) if serial else ()), *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AdbError(f"{serial or 'adb'}: adb {args[0]} did not answer in {timeout:g} s; check the cable and "
                       "`adb devices`") from None
    if check and proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[-1]
        raise AdbError(f"{serial or 'adb'}: adb {args[0]} failed: {tail}")
    return proc


def parse_devices(text: str) -> dict[str, str]:
    """``adb devices`` output as ``{serial: state}`` (device, unauthorized, offline, ...)."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(("List of devices", "*")):
            out[parts[0]] = parts[1]
    return out


def state_error(serial: str, state: str) -> AdbError | None:
    """What an ``adb devices`` state other than ``device`` means, as the error to raise; None for ``device``."""
    if state == "device":
        return None
    if state == "unauthorized":
        return AdbError(f"{serial}: unauthorized; unlock the phone and accept the 'Allow USB debugging' prompt, "
                        "then run again")
    return AdbError(f"{serial}: the phone is {state}; reconnect it (or `adb reconnect`) and check `adb devices`")


def select_serials(asked: tuple[str, ...]) -> list[str]:
    """The serials to measure: those asked (``all``: every attached phone), or the only one attached.

    Raises:
        AdbError: none attached; several and no serial; an asked serial that is absent, unauthorized or offline.
    """
    devices = parse_devices(run_adb("devices", timeout=30).stdout)
    if not devices:
        raise AdbError("no phone found by `adb devices`; connect one with USB debugging on (docs/android.md)")
    if not asked:
        if len(devices) > 1:
            raise UsageError(f"several phones attached ({', '.join(devices)}); choose with --serial SERIAL "
                             "(repeat it for several) or --serial all")
        asked = tuple(devices)
    serials = list(devices) if asked == ("all",) else list(dict.fromkeys(asked))
    for s in serials:
        if s not in devices:
            raise AdbError(f"{s}: not attached; `adb devices` lists {', '.join(devices)}")
        err = state_error(s, devices[s])
        if err is not None:
            raise err
    return serials


@dataclass(frozen=True)
class PhoneIdentity:
    serial: str
    props: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.props.get('ro.product.manufacturer', '')} {self.props.get('ro.product.model', '')}".strip()

    @property
    def soc(self) -> str:
        return self.props.get("ro.soc.model") or self.props.get("ro.board.platform") or "unknown SoC"


def check_identity(ident: PhoneIdentity) -> None:
    """Refuse an emulator and a phone that cannot run the arm64 binary."""
    p, s = ident.props, ident.serial
    if p.get("ro.kernel.qemu") == "1" or p.get("ro.hardware") in ("ranchu", "goldfish"):
        raise AdbError(f"{s}: an Android emulator (ro.kernel.qemu={p.get('ro.kernel.qemu')!r}, ro.hardware="
                       f"{p.get('ro.hardware')!r}), not a phone; its timings say nothing about one, so it is refused")
    abi = p.get("ro.product.cpu.abi", "")
    if abi != "arm64-v8a":
        raise AdbError(f"{s}: ro.product.cpu.abi is {abi or 'empty'!r}; LiteRT's android_arm64 benchmark_model needs "
                       "arm64-v8a (a 32-bit phone cannot run it)")


def check_target(ident: PhoneIdentity, target) -> None:
    """Refuse to measure a phone as a phone target (``pixel4``, a TOML phone) that its ``getprop`` says it is not:
    ``ro.product.model`` must be one of the target's models and its SoC one of the target's ``soc_ids``, where the
    target lists them (``targets.records.Phone``). ``--target android`` measures any phone as itself."""
    phone = getattr(target, "phone", None)
    if phone is None:
        return
    p = ident.props
    model = p.get("ro.product.model", "")
    socs = {p.get(k, "").lower() for k in ("ro.soc.model", "ro.board.platform")} - {""}
    model_ok = not phone.models or model in phone.models
    soc_ok = not phone.soc_ids or bool(socs & {s.lower() for s in phone.soc_ids})
    if not (model_ok and soc_ok):
        wants = "/".join(phone.models or phone.soc_ids)
        raise AdbError(f"{ident.serial}: getprop says {ident.name or 'an unnamed phone'} ({ident.soc}), not "
                       f"{target.key} ({target.title}: {wants}); measure it with --target android, or as its own "
                       "phone target (docs/android.md)")


def check_binary(path: Path, sha256: str | None = None) -> str:
    """The binary's sha256, after checking it is an arm64 ELF (and matches ``sha256`` when one is given)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"--benchmark-binary {str(path)!r}: {err.strerror}") from None
    if data[:4] != b"\x7fELF" or data[4] != 2 or int.from_bytes(data[18:20], "little") != _ELF_AARCH64:
        raise UsageError(f"--benchmark-binary {str(path)!r} is not an arm64 ELF executable; use LiteRT's "
                         "android_arm64 benchmark_model")
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise UsageError(f"{str(path)!r}: sha256 {digest} does not match the expected {sha256}; fetch it again")
    return digest
