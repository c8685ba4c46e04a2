"""Options that several commands share, defined once as typer ``Annotated`` types: a command declares each of its
options as a plain parameter, and the ones here by name (``json: Json = False``).

``rich_help_panel`` groups a command's options in its ``--help`` (see :class:`PanelCommand`).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from edgekit.limits import INT32_MAX, MAX_INPUT_SIZE, finite, whole


def whole_number(option: str, *, low: int = 1, high: int = INT32_MAX, why: str = "") -> Callable:
    """A typer callback: ``option`` must be a whole number from ``low`` to ``high`` (``edgekit.limits.whole``), else
    one line naming it, before the command runs."""
    return lambda value: whole(option, value, low=low, high=high, why=why)


def finite_number(option: str, *, low: float | None = None, high: float | None = None, low_open: bool = False,
                  why: str = "") -> Callable:
    """A typer callback: ``option`` must be a finite number in range (``edgekit.limits.finite``); typer lets
    ``nan`` and ``inf`` through a float option."""
    return lambda value: finite(option, value, low=low, high=high, low_open=low_open, why=why)


SSH_PANEL = "ssh"
MODEL_PANEL = "Model"

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]
Db = Annotated[Path | None, typer.Option("--db", help="Results database (default ~/.edgekit/results.db).")]
Wide = Annotated[bool, typer.Option("--wide", help="Print every column of the tables, however wide the terminal.")]
Csv = Annotated[Path | None, typer.Option("--csv", help="Also write the results as CSV.")]
TargetFile = Annotated[Path | None, typer.Option("--target-file", help="A user target TOML file.")]

# How to reach a device over ssh: edgekit bench --host and edgekit targets check.
Port = Annotated[int | None, typer.Option("--port", help="ssh port (default: ssh config, 22).",
                                          rich_help_panel=SSH_PANEL)]
Identity = Annotated[Path | None, typer.Option("--identity", help="ssh private key file.", rich_help_panel=SSH_PANEL)]
SshConfig = Annotated[Path | None, typer.Option(
    "--ssh-config", help="ssh config file (ssh -F; default $EDGEKIT_SSH_CONFIG, else ~/.ssh/config).",
    rich_help_panel=SSH_PANEL)]
InsecureNoHostKeyCheck = Annotated[bool, typer.Option(
    "--insecure-no-host-key-check", help="Do not check the device's host key (unsafe).", rich_help_panel=SSH_PANEL)]
RemotePython = Annotated[str, typer.Option(
    "--remote-python", help="Python on the device, with numpy and ai-edge-litert or tflite-runtime.",
    rich_help_panel=SSH_PANEL)]

# How a zoo model is built: edgekit info, convert and train.
InputSize = Annotated[int | None, typer.Option(
    "--input-size", callback=whole_number("--input-size", high=MAX_INPUT_SIZE),
    help=f"Square input size N, 1 to {MAX_INPUT_SIZE} (zoo models, or a .keras/.h5 file or SavedModel saved with an "
    "unknown input size).", rich_help_panel=MODEL_PANEL)]
Alpha = Annotated[float | None, typer.Option("--alpha", callback=finite_number("--alpha", low=0, low_open=True),
                                             help="Width multiplier (mobilenet, mobilenetv2).",
                                             rich_help_panel=MODEL_PANEL)]
Classes = Annotated[int | None, typer.Option("--classes", callback=whole_number("--classes"),
                                             help="Classifier width (zoo models).", rich_help_panel=MODEL_PANEL)]


class PanelCommand(TyperCommand):
    """Plain-text help with the options grouped by ``rich_help_panel``: Arguments, Options, then each panel.

    The CLI keeps ``rich_markup_mode=None`` (rich markup would eat help text such as ``[user@]host``), and typer's
    plain help ignores panels.
    """

    def format_options(self, ctx, formatter) -> None:
        panels: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                panel = getattr(param, "rich_help_panel", None) or (
                    "Arguments" if param.param_type_name == "argument" else "Options")
                panels.setdefault(panel, []).append(record)
        for title, records in panels.items():
            if not records:
                continue
            with formatter.section(title):
                formatter.write_dl(records)
