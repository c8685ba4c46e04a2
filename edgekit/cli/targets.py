"""``edgekit targets``: the built-in and user targets with their hardware figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.app.bench_request import RemoteArgs
from edgekit.cli._common import console, emit_json, human_bytes
from edgekit.cli._options import (
    Identity,
    InsecureNoHostKeyCheck,
    Json,
    PanelCommand,
    Port,
    RemotePython,
    SshConfig,
    Wide,
)

TargetFile = Annotated[Path | None, typer.Option("--target-file", help="Also show the target in this TOML file.")]

targets_app = typer.Typer(name="targets", add_completion=False, rich_markup_mode=None,
                          help="List the targets and their hardware figures.")


def _rows(target_file: Path | None) -> list:
    from targets.registry import all_targets
    from targets.userfile import load_target_file

    rows = all_targets()
    if target_file is not None:
        rows.append(load_target_file(target_file))
    return rows


def _cells(t) -> list[str]:
    c = t.cpu
    if c is None:
        cpu = ["this machine"] + ["-"] * 4 if t.key == "cpu" else ["-"] * 5
    else:
        peak = c.cores * c.ghz
        cpu = [f"{c.cores}x {c.ghz:g} GHz", f"{peak * c.fp32_flops_per_cycle_per_core:g}",
               f"{peak * c.int8_ops_per_cycle_per_core:g}", f"{c.memory_gbps:g}", human_bytes(c.cache_bytes)]
    a = t.accelerator
    acc = "-" if a is None else f"Edge TPU {a.int8_tops:g} TOPS, {a.param_cache_bytes >> 20} MiB, {a.link}"
    if t.mcu is not None:
        m = t.mcu
        acc = (f"{m.core} {m.mhz:g} MHz, {m.sram_bytes >> 10} KiB SRAM ({m.arena_budget_bytes >> 10} KiB for the "
               f"arena), {m.flash_bytes >> 20} MiB flash")
    return [t.key + ("" if t.origin == "built-in" else " (user)"), *cpu, acc]


def list_targets(*, json: Json = False, target_file: TargetFile = None, wide: Wide = False) -> None:
    """List the targets and their hardware figures (user targets from $EDGEKIT_HOME/targets/*.toml)."""
    from edgekit.cli._table import FitTable, col
    from targets.registry import ALIASES

    rows = _rows(target_file)
    if json:
        aliases = {k: v.value for k, v in ALIASES.items()}
        emit_json({"targets": [t.to_dict() for t in rows], "aliases": aliases})
        return
    table = FitTable("edgekit targets", [
        col("target", names=True), col("CPU", 8), col("fp32 GFLOPS", 7, right=True), col("int8 GOPS", 6, right=True),
        col("DRAM GB/s", 4, right=True), col("cache", 3), col("accelerator", 5, fold=True)])
    for t in rows:
        table.add_row(*_cells(t))
    out = console()
    table.print(out, wide=wide)
    out.print("[dim]aliases: " + ", ".join(f"{k} -> {v.value}" for k, v in ALIASES.items())
              + ". Sources: edgekit targets --json; estimates: docs/estimates.md[/dim]")


@targets_app.callback(invoke_without_command=True)
def _targets(ctx: typer.Context, *, json: Json = False, target_file: TargetFile = None, wide: Wide = False) -> None:
    """List the targets and their hardware figures."""
    if ctx.invoked_subcommand is None:
        list_targets(json=json, target_file=target_file, wide=wide)


targets_app.command("list")(list_targets)


@targets_app.command("check", cls=PanelCommand)
def check_target(
        name: Annotated[str, typer.Argument(help="A device target: rpi4, rpi5, coral-usb, coral-devboard, ...")], *,
        host: Annotated[str, typer.Option("--host", help="The device, [user@]host.", show_default=False)],
        port: Port = None, identity: Identity = None, ssh_config: SshConfig = None,
        insecure_no_host_key_check: InsecureNoHostKeyCheck = False, remote_python: RemotePython = "python3",
        json: Json = False) -> None:
    """Can 'edgekit bench --host' measure there? ssh, Python, the device's identity, numpy, the TFLite runtime,
    the Edge TPU library.

    Exits 0 when the device is ready, 1 when it is not (after the report), 2 for usage errors: the same rule
    as 'edgekit check'.
    """
    from edgekit.app.remote import ssh_options
    from edgekit.errors import CheckFailed, UsageError
    from targets.device_check import check_device
    from targets.registry import Reach, get_target
    from targets.ssh import parse_host

    target = get_target(name)
    if target.reach is not Reach.SSH:
        raise UsageError(f"{target.key!r} is this machine, not a device; check a device target such as rpi4")
    ssh = RemoteArgs(port=port, identity=identity, ssh_config=ssh_config,
                     insecure_no_host_key_check=insecure_no_host_key_check, remote_python=remote_python)
    report = check_device(parse_host(host), ssh_options(ssh), remote_python, target.delegate, target=target)
    if json:
        emit_json({"target": target.key, **report})
    else:
        _print_check(target.key, report)
    wrong = next((i for i in report["items"] if i["name"] == "identity" and not i["ok"]), None)
    if wrong is not None:
        raise CheckFailed(f"{host} {wrong['detail']}")
    missing = [i["name"] for i in report["items"] if not i["ok"]]
    if missing:
        raise CheckFailed(f"{host}: not ready for --target {target.key}: {', '.join(missing)} missing; run the "
                           "commands above")


def _print_check(target: str, report: dict) -> None:
    out = console()
    device = report["device"] or {}
    if device:
        out.print(f"{report['host']}: {device.get('board') or device.get('cpu')}, {device.get('os')}, "
                  f"kernel {str(device.get('kernel')).split()[0]}", markup=False, soft_wrap=True)
    for item in report["items"]:
        mark = "ok     " if item["ok"] else "WRONG  " if item["name"] == "identity" else "MISSING"
        out.print(f"  {mark} {item['name']}: {item['detail']}", markup=False, soft_wrap=True)
        if item["fix"]:
            out.print(f"          install: {item['fix']}", markup=False, soft_wrap=True)
    if report["ready"]:
        out.print(f"ready: edgekit bench MODEL --target {target} --host {report['host']}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app)
