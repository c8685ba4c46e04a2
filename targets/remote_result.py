"""A device's measurement as a result record: the shape of a local one (``bench.result.build_result``), with
``device`` describing the board that ran it, ``emulated``, ``outputs_vs_local`` (``--check-outputs``) and
warnings about its governor, throttling, emulation, the Edge TPU and outputs that differ from this machine's.
"""

from __future__ import annotations

from dataclasses import replace

from bench.outputs import compare, disagreement
from bench.result import build_result, threads_warning, warnings_for
from bench.runner import Config
from edgekit.result import Result
from targets.identity import emulation_warning
from targets.remote import RemoteConfig


def remote_config(cfg: Config, delegate: str | None, *, check_outputs: bool = False) -> RemoteConfig:
    return RemoteConfig(cfg.path, cfg.threads, cfg.runs, cfg.min_seconds, cfg.warmup, cfg.xnnpack, delegate,
                        check_outputs)


def local_outputs(cfg: Config) -> list:
    """This machine's outputs on the fixed input (``bench.outputs``), with the config's threads and kernels."""
    from bench.outputs import run_fixed
    from edgekit.runtime import load

    return run_fixed(load(cfg.path, threads=cfg.threads, xnnpack=cfg.xnnpack).interpreter)


def to_result(cfg: Config, measured: dict | list[dict], graph, macs: int, host: str, *,
              round_ids: list[int] | None = None, target: str | None = None, reference: list | None = None) -> Result:
    """The record ``--json``, the table and the results store share, for a run (or rounds) on ``host``.

    ``target`` is what the host was measured as (``--target auto`` finds it out); ``reference`` this
    machine's outputs, compared with the device's when it ran ``--check-outputs``.
    """
    rounds = [measured] if isinstance(measured, dict) else list(measured)
    if round_ids is None and all("round" in r for r in rounds):
        round_ids = [r["round"] for r in rounds]
    record = build_result(cfg, rounds, graph, macs, round_ids=round_ids)
    first, last = rounds[0], rounds[-1]
    device = {**first["device"], "cpu_temp_c_after": last["after"]["cpu_temp_c"],
              "throttled_after": last["after"]["throttled"]}
    extra = {**record.extra, "device": device, "host": host, "delegate": first.get("delegate"),
             "tf_imported": first["tf_imported"], "emulated": bool(device.get("emulated"))}
    warnings = warnings_for(record, device.get("governor")) + device_warnings(device, graph,
                                                                                        extra["delegate"])
    warnings += [w for w in [threads_warning(record.threads, device.get("usable_cores"))] if w]  # the device's cores
    outputs = next((r["outputs"] for r in rounds if "outputs" in r), None)
    if reference is not None and outputs is not None:
        extra["outputs_vs_local"] = compare(reference, outputs)
        warnings += [w for w in [disagreement(extra["outputs_vs_local"])] if w]
    machine = {"before": _state(first["device"]), "after": _state(last.get("after", {}))}
    from targets.energy_host import with_host_fallback

    # a board without a readable sensor (a Pi 4): its latency x published power
    return with_host_fallback(replace(record, target=target if target is not None else record.target, extra=extra,
                                      warnings=warnings, rounds=replace(record.rounds, machine=machine)))


def _state(facts: dict) -> dict:
    return {k: facts.get(k) for k in ("load_average", "cpu_mhz", "governor", "cpu_temp_c")}


def device_warnings(device: dict, graph, delegate: str | None) -> list[str]:
    out = [w for w in [emulation_warning(device)] if w]
    flags = (device.get("throttled_after") or {}).get("flags") or []
    if flags:
        out.append(f"the board reports {', '.join(flags)} (vcgencmd get_throttled); use a 5 V/3 A supply and a "
                   "heatsink, then measure again")
    if delegate == "edgetpu" and not graph.compiled_for_edgetpu:
        out.append("the model has no Edge TPU op, so it ran on the CPU; compile it with edgetpu_compiler first "
                   "(edgekit check MODEL --target coral-usb)")
    return out
