"""User targets: one TOML file per target, with the same fields as the built-in records.

They live in ``$EDGEKIT_HOME/targets/*.toml`` (``EDGEKIT_HOME`` defaults to ``~/.edgekit``) or are given
with ``--target-file``. Every field is checked when the file is read; each error is one line that names
the file, the field, what is allowed and what was found. Example::

    name = "jetson-nano-cpu"
    title = "Jetson Nano, CPU only"
    sources = ["NVIDIA Jetson Nano datasheet"]

    [cpu]
    cores = 4
    ghz = 1.43
    fp32_flops_per_cycle_per_core = 8
    int8_ops_per_cycle_per_core = 16
    memory_gbps = 10
    cache_bytes = 2097152          # optional, default 1 MiB
    description = "4x Cortex-A57"
    family = "generic"             # optional: a targets.cpufamily name (cortex-a72, x86-avx2, ...)

    [accelerator]                  # optional: an Edge TPU
    int8_tops = 4
    param_cache_bytes = 8388608
    host_link_gbps = 0.5
    link = "USB 3.0"

A phone is described by its SoC's public facts: its CPU clusters instead of ``cores``/``ghz``/per-core rates
(threads then go to the fastest cores first), and the SoC and GPU by name. It is estimated with the phone
family's held-out error, or measured over adb with ``--serial`` (docs/android.md)::

    name = "myphone"
    soc = "Snapdragon 8 Gen 2"
    gpu = "Adreno 740"             # optional, for the record: there is no GPU estimate
    gpu_memory_gbps = 67           # optional: the LPDDR peak the GPU shares
    models = ["SM-S911B"]          # optional: ro.product.model values a phone measured as this target must show
    soc_ids = ["kalama", "SM8550"] # optional: its ro.board.platform or ro.soc.model (case-insensitive)

    [cpu]
    memory_gbps = 30               # sustained DRAM bandwidth
    cache_bytes = 8388608          # optional: the shared L3/system cache

    [[cpu.clusters]]
    core = "Cortex-X3"
    count = 1
    ghz = 3.19
    fp32_flops_per_cycle = 16
    int8_ops_per_cycle = 64
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path

from edgekit.errors import UsageError, did_you_mean
from targets.builtin import ALIASES, TARGET_NAMES
from targets.cpufamily import FAMILY_NAMES
from targets.records import AcceleratorFigures, CoreCluster, CpuFigures, Phone, Reach, Target, phone_cpu


class TargetFileError(UsageError):
    """A user target file that cannot be read or holds a bad field."""


_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_TOP = {"name": str, "title": str, "sources": list, "cpu": dict, "accelerator": dict, "delegate": str, "soc": str,
        "gpu": str, "gpu_memory_gbps": float, "models": list, "soc_ids": list}
_POSITIVE = {"cores", "ghz", "fp32_flops_per_cycle_per_core", "int8_ops_per_cycle_per_core", "memory_gbps",
             "cache_bytes", "int8_tops", "param_cache_bytes", "host_link_gbps", "count", "fp32_flops_per_cycle",
             "int8_ops_per_cycle", "gpu_memory_gbps"}
_INTEGER = {"cores", "cache_bytes", "param_cache_bytes", "count"}
_BOARD_FAMILIES = tuple(f for f in FAMILY_NAMES if f != "phone")  # a phone is given by its [[cpu.clusters]]
_PHONE_CPU = {"clusters", "memory_gbps", "cache_bytes", "description"}
_DELEGATES = ("edgetpu",)
_EXAMPLE_IDS = {"models": '["Pixel 8"]', "soc_ids": '["zuma"]'}


def edgekit_home() -> Path:
    return Path(os.environ.get("EDGEKIT_HOME") or Path.home() / ".edgekit")


def user_targets_dir() -> Path:
    return edgekit_home() / "targets"


def _check_keys(where: str, table: dict, allowed: dict | set, required: set) -> None:
    for key in table:
        if key not in allowed:
            raise TargetFileError(f"{where}: unknown field {key!r}{did_you_mean(key, allowed)}; "
                                  f"allowed: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(table))
    if missing:
        raise TargetFileError(f"{where}: missing field {missing[0]!r} (required: {', '.join(sorted(required))})")


def _number(where: str, key: str, value) -> float | int:
    if key in _INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TargetFileError(f"{where}: {key} must be a whole number, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetFileError(f"{where}: {key} must be a number, got {value!r}")
    if key in _POSITIVE and not value > 0:
        raise TargetFileError(f"{where}: {key} must be greater than 0, got {value!r}")
    return value


def _record(cls, where: str, table: dict):
    names = {f.name: f for f in fields(cls)}
    required = {n for n, f in names.items() if f.default is MISSING}
    _check_keys(where, table, set(names), required)
    values = {}
    for key, value in table.items():
        if names[key].type == "str":
            if not isinstance(value, str):
                raise TargetFileError(f"{where}: {key} must be a string, got {value!r}")
            values[key] = value
        else:
            values[key] = _number(where, key, value)
    return cls(**values)


def parse_target(text: str, label: str) -> Target:
    """Build a Target from TOML text; ``label`` names the file in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TargetFileError(f"{label}: not valid TOML: {err}") from None
    _check_keys(label, doc, _TOP, {"name", "cpu"})
    for key, want in _TOP.items():
        if want is float and key in doc:
            _number(label, key, doc[key])
        elif key in doc and not isinstance(doc[key], want):
            what = {str: "a string", list: "a list of strings", dict: f"a [{key}] table"}[want]
            raise TargetFileError(f"{label}: {key} must be {what}, got {doc[key]!r}")
    name = doc["name"]
    if not _NAME.match(name):
        raise TargetFileError(f"{label}: name must be 1-64 lowercase letters, digits, '.', '_' or '-', "
                              f"got {name!r}")
    if name in TARGET_NAMES or name in ALIASES:
        raise TargetFileError(f"{label}: name {name!r} is a built-in target; choose another name")
    if not all(isinstance(s, str) for s in doc.get("sources", [])):
        raise TargetFileError(f"{label}: sources must be a list of strings")
    accelerator = _record(AcceleratorFigures, f"{label} [accelerator]", doc["accelerator"]) \
        if "accelerator" in doc else None
    delegate = doc.get("delegate", "edgetpu" if accelerator else None)
    if delegate is not None and delegate not in _DELEGATES:
        raise TargetFileError(f"{label}: delegate must be one of {', '.join(_DELEGATES)}, got {delegate!r}")
    if "clusters" in doc["cpu"]:
        return _phone(doc, label)
    for key in ("soc", "gpu", "gpu_memory_gbps", "models", "soc_ids"):
        if key in doc:
            raise TargetFileError(f"{label}: {key} describes a phone; give its CPU as [[cpu.clusters]] tables")
    cpu = _record(CpuFigures, f"{label} [cpu]", doc["cpu"])
    if cpu.family not in _BOARD_FAMILIES:
        raise TargetFileError(f"{label} [cpu]: family must be one of {', '.join(_BOARD_FAMILIES)}, got "
                              f"{cpu.family!r}{did_you_mean(cpu.family, _BOARD_FAMILIES)}")
    return Target(name, doc.get("title", name), Reach.SSH, cpu, accelerator, delegate,
                  tuple(doc.get("sources", ())), origin=label)


def _phone(doc: dict, label: str) -> Target:
    """A phone target: its CPU clusters, SoC and GPU (no accelerator, no Edge TPU delegate)."""
    where = f"{label} [cpu]"
    _check_keys(where, doc["cpu"], _PHONE_CPU, {"clusters", "memory_gbps"})
    for key in ("accelerator", "delegate"):
        if key in doc:
            raise TargetFileError(f"{label}: {key} does not apply to a phone (a target with [[cpu.clusters]])")
    tables = doc["cpu"]["clusters"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise TargetFileError(f"{where}: clusters must be one or more [[cpu.clusters]] tables")
    clusters = tuple(_record(CoreCluster, f"{where} cluster {i + 1}", t) for i, t in enumerate(tables))
    memory = _number(where, "memory_gbps", doc["cpu"]["memory_gbps"])
    cache = _number(where, "cache_bytes", doc["cpu"].get("cache_bytes", 1 << 20))
    description = doc["cpu"].get("description", "")
    if not isinstance(description, str):
        raise TargetFileError(f"{where}: description must be a string, got {description!r}")
    soc = doc.get("soc", doc.get("title", doc["name"]))
    for key in ("models", "soc_ids"):
        if not all(isinstance(v, str) and v for v in doc.get(key, [])):
            raise TargetFileError(f"{label}: {key} must be a list of strings, e.g. {_EXAMPLE_IDS[key]}")
    phone = Phone(soc, doc.get("gpu", ""), doc.get("gpu_memory_gbps"), tuple(doc.get("models", ())),
                  tuple(doc.get("soc_ids", ())))
    return Target(doc["name"], doc.get("title", f"{doc['name']} ({soc})"), Reach.ADB,
                  phone_cpu(clusters, memory, cache, description), sources=tuple(doc.get("sources", ())),
                  origin=label, phone=phone)


def load_target_file(path: str | os.PathLike) -> Target:
    """Read one user target file (``--target-file``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetFileError(f"target file {str(path)!r} not found; check the path") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TargetFileError(f"cannot read target file {str(path)!r}: {getattr(err, 'strerror', None) or err}") \
            from None
    return parse_target(text, str(path))


def _files() -> list[Path]:
    folder = user_targets_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load_user_targets() -> list[Target]:
    """Every ``*.toml`` in the user targets folder; the first invalid one raises TargetFileError."""
    found: dict[str, Target] = {}
    for path in _files():
        target = load_target_file(path)
        if target.key in found:
            raise TargetFileError(f"{path}: target {target.key!r} is also defined in {found[target.key].origin}")
        found[target.key] = target
    return list(found.values())


def user_target_names() -> tuple[str, ...]:
    """Names of the user targets by file stem (cheap: files are not parsed)."""
    return tuple(p.stem for p in _files())


def find_user_target(name: str) -> Target | None:
    """The user target called ``name``, or None. A file named NAME.toml is tried first."""
    path = user_targets_dir() / f"{name}.toml"
    if path.is_file():
        target = load_target_file(path)
        if target.key == name:
            return target
    return next((t for t in load_user_targets() if t.key == name), None)
