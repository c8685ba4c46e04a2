"""Options that several commands share, defined once: ``--json``, ``--db``, ``--csv``, the ssh options, and
option groups that a command receives as one request object instead of a parameter each.

An :class:`OptionGroup` expands, for typer, into its options, and is folded back into one object (built by
``build``) before the command runs, so a command's own signature stays short.
"""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]
Db = Annotated[Path | None, typer.Option("--db", help="Results database (default ~/.edgekit/results.db).")]
Csv = Annotated[Path | None, typer.Option("--csv", help="Also write the results as CSV.")]

KW = inspect.Parameter.KEYWORD_ONLY


def _opt(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, KW, default=default, annotation=annotation)


SSH_PARAMS = (
    _opt("port", Annotated[int | None, typer.Option("--port", help="ssh port (default: ssh config, 22).")], None),
    _opt("identity", Annotated[Path | None, typer.Option("--identity", help="ssh private key file.")], None),
    _opt("ssh_config", Annotated[Path | None, typer.Option(
        "--ssh-config", help="ssh config file (ssh -F; default $EDGEKIT_SSH_CONFIG, else ~/.ssh/config).")], None),
    _opt("insecure_no_host_key_check", Annotated[bool, typer.Option(
        "--insecure-no-host-key-check", help="Do not check the device's host key (unsafe).")], False),
    _opt("remote_python", Annotated[str, typer.Option(
        "--remote-python", help="Python on the device, with numpy and ai-edge-litert or tflite-runtime.")],
        "python3"),
)


@dataclass(frozen=True)
class OptionGroup:
    """Options that reach a command as one object: ``build(**options)``."""

    params: tuple[inspect.Parameter, ...]
    build: Callable[..., Any]


def with_groups(**groups: OptionGroup):
    """Decorate a command whose parameters named like ``groups`` each take one built object."""

    def decorate(fn):
        sig = inspect.signature(fn, eval_str=True)
        params: list[inspect.Parameter] = []
        for p in sig.parameters.values():
            params.extend(groups[p.name].params if p.name in groups else [p])
        params = [p.replace(kind=KW) for p in params]  # typer passes everything by keyword

        @functools.wraps(fn)
        def command(*args, **kwargs):
            for name, group in groups.items():
                kwargs[name] = group.build(**{q.name: kwargs.pop(q.name) for q in group.params})
            return fn(*args, **kwargs)

        command.__signature__ = sig.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
