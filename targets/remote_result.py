"""A device's measurement as a result record: the shape of a local one (``bench.result.build_result``), with
``device`` describing the board that ran it, ``emulated``, ``outputs_vs_local`` (``--check-outputs``) and
warnings about its governor, throttling, emulation, the Edge TPU and outputs that differ from this machine's.
"""

from __future__ import annotations

from bench.outputs import compare, disagreement
from bench.result import build_result, warnings_for
from bench.runner import Config
from targets.identity import emulation_warning
from targets.remote import RemoteConfig

EDGETPU_OP = "edgetpu-custom-op"


def remote_config(cfg: Config, delegate: str | None, *, check_outputs: bool = False) -> RemoteConfig:
    return RemoteConfig(cfg.path, cfg.threads, cfg.runs, cfg.min_seconds, cfg.warmup, cfg.xnnpack, delegate,
                        check_outputs)


def local_outputs(cfg: Config) -> list:
    """This machine's outputs on the fixed input (``bench.outputs``), with the config's threads and kernels."""
    from bench.outputs import run_fixed
    from edgekit.runtime import load

    return run_fixed(load(cfg.path, threads=cfg.threads, xnnpack=cfg.xnnpack).interpreter)


def to_result(cfg: Config, measured: dict, graph, macs: int, host: str, *, target: str | None = None,
              reference: list | None = None) -> dict:
    """The record ``--json``, the table and the results store share, for a run on ``host``.

    ``target`` is what the host was measured as (``--target auto`` finds it out); ``reference`` this
    machine's outputs, compared with the device's when it ran ``--check-outputs``.
    """
    doc = build_result(cfg, measured, graph, macs)
    device = {**measured["device"], "cpu_temp_c_after": measured["after"]["cpu_temp_c"],
              "throttled_after": measured["after"]["throttled"]}
    doc.update(device=device, host=host, delegate=measured.get("delegate"), tf_imported=measured["tf_imported"],
               emulated=bool(device.get("emulated")))
    if target is not None:
        doc["target"] = target
    doc["warnings"] = warnings_for(doc["cv"], device.get("governor")) + device_warnings(device, graph,
                                                                                        doc["delegate"])
    if reference is not None and "outputs" in measured:
        doc["outputs_vs_local"] = compare(reference, measured["outputs"])
        doc["warnings"] += [w for w in [disagreement(doc["outputs_vs_local"])] if w]
    return doc


def device_warnings(device: dict, graph, delegate: str | None) -> list[str]:
    out = [w for w in [emulation_warning(device)] if w]
    flags = (device.get("throttled_after") or {}).get("flags") or []
    if flags:
        out.append(f"the board reports {', '.join(flags)} (vcgencmd get_throttled); use a 5 V/3 A supply and a "
                   "heatsink, then measure again")
    if delegate == "edgetpu" and not any(op.opcode == EDGETPU_OP for op in graph.ops):
        out.append("the model has no Edge TPU op, so it ran on the CPU; compile it with edgetpu_compiler first "
                   "(edgekit check MODEL --target coral-usb)")
    return out
