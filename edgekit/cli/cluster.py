"""``edgekit cluster``: join a lab host to a Ray cluster, and see the lab (edgekit.app.cluster; docs/cluster.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import err_console
from edgekit.cli._options import RemotePython

cluster_app = typer.Typer(name="cluster", add_completion=False, rich_markup_mode=None, no_args_is_help=True,
                          help="A device lab on a Ray cluster: join a lab host, list the nodes and devices.")

Address = Annotated[str | None, typer.Option("--cluster", envvar="RAY_ADDRESS", show_envvar=False,
                                             help="HOST:PORT of the Ray head (also $RAY_ADDRESS).")]


@cluster_app.command("join")
def join(address: Annotated[str, typer.Argument(help="HOST:PORT of the Ray head ('ray start --head' prints it).")],
         *, hosts: Annotated[Path | None, typer.Option("--hosts", help="This host's devices: one 'TARGET HOST' per "
                                                    "line (rpi4 pi@pi-1.lab); each becomes a resource of the node.",
                                                    show_default=False)] = None,
         convert: Annotated[bool, typer.Option("--convert", help="Also offer this node for conversions.")] = False,
         remote_python: RemotePython = "python3") -> None:
    """Start a Ray node here ('ray start') that owns the devices in --hosts and, with --convert, converts."""
    import os

    from edgekit.app.cluster_join import join as join_lab

    os.environ["EDGEKIT_REMOTE_PYTHON"] = remote_python  # the node's workers inherit it
    argv = join_lab(address, hosts, convert=convert)
    err_console.print(f"joined {address}: {' '.join(argv[1:])}", markup=False, soft_wrap=True)


@cluster_app.command("status")
def status(*, address: Address = None) -> None:
    """The nodes with their memory and devices, and whether each device answers (its identity check there)."""
    from edgekit.app.cluster import connect, disconnect
    from edgekit.app.cluster_status import device_answers

    lab = connect(address)
    try:
        answers = device_answers(lab)
    finally:
        disconnect()
    for node in lab.nodes:
        role = "converts" if node.converts else "no conversions"
        typer.echo(f"node {node.name}: {'alive' if node.alive else 'dead'}, {node.memory / 2**30:.1f} GiB, "
                   f"{node.cpus:g} CPU, {role}")
        for dev in (d for d in lab.devices if d.node == node.node_id):
            typer.echo(f"  {dev.target} {dev.host}: answers {answers.get(dev, 'not checked (node dead)')}")


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app)
