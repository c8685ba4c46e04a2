"""``edgekit targets``: the built-in and user targets with their hardware figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import console, emit_json, human_bytes

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]
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
    return [t.key + ("" if t.origin == "built-in" else " (user)"), *cpu, acc]


def list_targets(json: Json = False, target_file: TargetFile = None) -> None:
    """List the targets and their hardware figures (user targets from $EDGEKIT_HOME/targets/*.toml)."""
    from rich.table import Table

    from targets.registry import ALIASES

    rows = _rows(target_file)
    if json:
        aliases = {k: v.value for k, v in ALIASES.items()}
        emit_json({"targets": [t.to_dict() for t in rows], "aliases": aliases})
        return
    table = Table(title="edgekit targets")
    for col in ("target", "CPU", "fp32 GFLOPS", "int8 GOPS", "DRAM GB/s", "cache", "accelerator"):
        table.add_column(col, justify="right" if "GB" in col or "OPS" in col else "left")
    for t in rows:
        table.add_row(*_cells(t))
    out = console()
    out.print(table)
    out.print("[dim]aliases: " + ", ".join(f"{k} -> {v.value}" for k, v in ALIASES.items())
              + ". Sources: edgekit targets --json; estimates: docs/estimates.md[/dim]")


@targets_app.callback(invoke_without_command=True)
def _targets(ctx: typer.Context, json: Json = False, target_file: TargetFile = None) -> None:
    """List the targets and their hardware figures."""
    if ctx.invoked_subcommand is None:
        list_targets(json, target_file)


targets_app.command("list")(list_targets)


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app)
