"""``edgekit targets check NAME --host H``: is the device ready for ``edgekit bench --host``?

It pipes ``device_facts.py`` to the remote Python over ssh (nothing is copied or installed) and turns the
answer into one row per requirement, each missing one with the command that installs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from targets import hints
from targets.remote import CONNECT_S
from targets.ssh import Host, SshError, SshOptions, run, shell_line, ssh_argv

FACTS_SCRIPT = Path(__file__).resolve().with_name("device_facts.py")
MACHINE_SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "machine.py"
_FUTURE = "from __future__ import annotations\n"


def facts_script() -> str:
    """``device_facts.py`` with ``bench/machine.py`` inlined as its ``machine`` module, for ``python3 -``."""
    inline = ("import sys as _sys, types as _types\n_machine = _types.ModuleType('machine')\n"
              f"exec(compile({MACHINE_SCRIPT.read_text()!r}, 'machine.py', 'exec'), _machine.__dict__)\n"
              "_sys.modules['machine'] = _machine\n")
    return FACTS_SCRIPT.read_text().replace(_FUTURE, _FUTURE + inline, 1)


@dataclass(frozen=True)
class Item:
    name: str
    ok: bool
    detail: str
    fix: str | None = None  # the command that installs what is missing

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def probe(host: Host, opts: SshOptions, python: str) -> tuple[list[Item], dict | None]:
    """Reachability and the remote Python; then the facts and check from ``device_facts.py``, if it ran."""
    proc = run(ssh_argv(host, shell_line(python, "-"), opts), host=host.text, phase="connect", timeout=CONNECT_S,
               stdin=facts_script())
    items = [Item("ssh", True, f"{host.text} reachable, key accepted")]
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return [*items, Item("python", False, f"{python!r} did not run ({tail})", hints.PYTHON[1])], None
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SshError(host.text, "run", f"{python} printed no JSON; is it Python 3.8 or newer?") from None
    return [*items, Item("python", True, f"{python}: Python {doc['check']['python']}")], doc


def requirements(check: dict, delegate: str | None) -> list[Item]:
    """numpy, one TFLite runtime and, for Coral targets, the Edge TPU library."""
    items = [Item("numpy", check["numpy_error"] is None, check["numpy"] or check["numpy_error"] or "missing",
                  None if check["numpy_error"] is None else hints.NUMPY[1])]
    ok = {d: r for d, r in check["runtimes"].items() if r["error"] is None}
    detail = ", ".join(f"{d} {r['version']}" for d, r in ok.items()) or "; ".join(
        f"{d}: {r['error']}" for d, r in check["runtimes"].items())
    items.append(Item("tflite runtime", bool(ok), detail, None if ok else hints.RUNTIME[1]))
    if delegate == "edgetpu":
        error = check["edgetpu_error"]
        items.append(Item("edge tpu", error is None, "libedgetpu.so.1 loads" if error is None else error,
                          None if error is None else hints.EDGETPU[1]))
    return items


def identity_item(target, facts: dict, host: str) -> Item:
    """Whether the device is ``target`` (``targets.identity``): its description, and why not."""
    from targets.identity import IdentityError, check, describe

    try:
        check(target, facts, host)
    except IdentityError as err:
        return Item("identity", False, str(err).removeprefix(f"{host} "))
    return Item("identity", True, describe(facts.get("identity") or {}).removeprefix("a "))


def check_device(host: Host, opts: SshOptions, python: str, delegate: str | None, *, target=None) -> dict:
    """The report: ``{"host", "ready", "items": [...], "device": facts or None}``; with ``target``, an
    ``identity`` item says whether the device is that target."""
    items, doc = probe(host, opts, python)
    if doc is not None:
        items += [identity_item(target, doc["facts"], host.text)] if target is not None else []
        items += requirements(doc["check"], delegate)
    return {"host": host.text, "ready": all(i.ok for i in items), "items": [i.to_dict() for i in items],
            "device": doc["facts"] if doc else None}
