"""The ``edgekit`` command line: a thin typer layer over the library.

Importing this module imports no TensorFlow: each command imports what it needs when it runs. Errors
become one line on stderr: exit 2 for usage errors and unknown names, 1 for everything else.
"""

from __future__ import annotations

import sys

import typer

from edgekit import __version__, interrupt, tempdirs, tf_log
from edgekit.cli import android as _android
from edgekit.cli import bench as _bench
from edgekit.cli import check as _check
from edgekit.cli import cluster as _cluster
from edgekit.cli import convert as _convert
from edgekit.cli import eval as _eval
from edgekit.cli import info as _info
from edgekit.cli import study as _study
from edgekit.cli import targets as _targets
from edgekit.cli import train as _train
from edgekit.cli._common import err_console
from edgekit.errors import EdgekitError, missing_extra

app = typer.Typer(
    name="edgekit", add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Take CNNs from Keras to mobile and embedded devices, and measure what they cost there.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Take CNNs from Keras to mobile and embedded devices, and measure what they cost there."""


_info.register(app)
_bench.register(app)
_check.register(app)
_targets.register(app)
_convert.register(app)
_train.register(app)
_eval.register(app)
_study.register(app)
_cluster.register(app)
_android.register(app)

# Typer vendors click from 0.25 on; take click's exception classes from typer's public BadParameter so this
# works with either.
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _fail(message: str, code: int) -> int:
    err_console.print(f"edgekit: error: {message}", markup=False, soft_wrap=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure ends as one line on stderr and an exit code, never a traceback.

    TensorFlow's log lines go to a file (``edgekit.tf_log``), named on stderr at the end when it got any.
    SIGTERM and SIGHUP end a command as Ctrl-C does (``edgekit.interrupt``), with exit 143 and 129. Every run
    first removes the temporary folders that runs killed outright left behind (``edgekit.tempdirs``).
    """
    args = sys.argv[1:] if argv is None else argv
    tf_log.send_to_log(header="edgekit " + " ".join(args))
    tempdirs.sweep()
    try:
        # a Ctrl-C that TensorFlow's callbacks swallow is raised again; SIGTERM and SIGHUP are Ctrl-C too
        with interrupt.guard():
            return _run(args)
    finally:
        log = tf_log.log_written()
        if log is not None:
            err_console.print(f"TensorFlow's log lines went to {log}", style="dim", markup=False, soft_wrap=True)


def _run(argv: list[str]) -> int:
    try:
        # Outside standalone mode typer returns the code of an Exit, and turns a KeyboardInterrupt into Exit(130).
        code = app(args=argv, prog_name="edgekit", standalone_mode=False)
    except EdgekitError as err:
        return _fail(str(err), err.exit_code)
    except _UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError" and err.ctx is not None:
            typer.echo(err.ctx.get_help())
            return 2
        where = f" (see 'edgekit {err.ctx.command.name} --help')" if err.ctx and err.ctx.parent else ""
        return _fail(err.format_message().replace("\n", " ") + where, 2)
    except _ClickException as err:
        return _fail(err.format_message().replace("\n", " "), err.exit_code)
    except typer.Exit as err:
        return err.exit_code
    except (typer.Abort, KeyboardInterrupt) as err:
        return _fail(*interrupt.how(err))
    except BrokenPipeError:
        return 1
    except MemoryError:
        return _fail("out of memory; try a smaller model or input size", 1)
    except ModuleNotFoundError as err:  # an optional import that missed edgekit's gate: still one line naming the extra
        missing = missing_extra(err, f"edgekit {argv[0] if argv else ''}".strip())
        if missing is None:
            raise
        return _fail(str(missing), missing.exit_code)
    except Exception as err:
        if interrupt.requested():  # the interrupt, turned into another error by the C++ code it landed in (TF's)
            return _fail(*interrupt.how())
        if type(err).__name__ == "ResourceExhaustedError":  # TensorFlow's out of memory (a huge --input-size)
            return _fail("out of memory in TensorFlow; try a smaller model, --input-size or --classes", 1)
        raise
    if code == 130:  # typer's code for a KeyboardInterrupt: Ctrl-C, or SIGTERM or SIGHUP (edgekit.interrupt)
        return _fail(*interrupt.how())
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
