"""edgekit's exception types. The CLI maps each to a one-line message and an exit code."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Iterable


class EdgekitError(Exception):
    """A failure the user can act on. ``str(err)`` is the whole message: what, and how to fix it."""

    exit_code = 1


class UsageError(EdgekitError):
    """A bad argument: an unknown name, a value out of range, a combination that cannot work."""

    exit_code = 2


class ModelFileError(EdgekitError):
    """A model file that is missing, unreadable, corrupt or truncated."""


class CheckFailed(EdgekitError):
    """A check that ran to the end and answered no (``edgekit check``, ``edgekit targets check``).

    The one rule for every check command: exit 0 when the answer is yes, 1 when it is no (after the full
    report is printed), 2 for usage errors, and 1 when the check cannot run at all.
    """


class WeightsNotFoundError(EdgekitError):
    """Pretrained weights that are not on disk (edgekit never downloads)."""


class MissingExtra(EdgekitError):
    """An optional dependency that is not installed. The message names the extra that brings it.

    Exit 2, as for a usage error: the command cannot run as asked in this install, and nothing was done.
    """

    exit_code = 2

    def __init__(self, extra: str, what: str):
        self.extra = extra
        super().__init__(f"{what}: pip install 'edgekit[{extra}]'")


# The optional modules edgekit imports, and the extra that brings each. tensorflow-cpu brings Keras; the
# [convert] extra also brings scikit-learn (digits), scikit-image (photos) and, through it, Pillow.
EXTRA_OF = {"tensorflow": "convert", "keras": "convert", "sklearn": "convert", "skimage": "convert",
            "PIL": "convert", "matplotlib": "plot", "tflite_micro": "mcu", "jax": "gpu", "ray": "cluster"}


def _missing(module: str, needed_for: str) -> MissingExtra:
    return MissingExtra(EXTRA_OF[module], f"{needed_for} needs {module}, which is not installed")


def missing_extra(err: ModuleNotFoundError, needed_for: str) -> MissingExtra | None:
    """The MissingExtra for ``err`` when the module it could not find is one an extra brings, else None."""
    top = (err.name or "").split(".")[0]
    return _missing(top, needed_for) if top in EXTRA_OF else None


def require_extra(module: str, *, needed_for: str) -> None:
    """Raise :class:`MissingExtra` when ``module`` (a key of EXTRA_OF) is not installed; imports nothing."""
    if importlib.util.find_spec(module) is None:
        raise _missing(module, needed_for)


def import_extra(module: str, *, needed_for: str):
    """Import ``module``, an optional dependency, or raise :class:`MissingExtra` naming the extra that brings it.

    The one gate for optional imports: ``needed_for`` says what wanted it ("building zoo models").
    """
    require_extra(module.split(".")[0], needed_for=needed_for)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = missing_extra(err, needed_for)
        if missing is None:
            raise
        raise missing from None


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none: enough for one line."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean X?)"`` for the closest choices, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(value.lower(), list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(close) + "?)"


def unknown_name(what: str, value: str, choices: Iterable[str]) -> UsageError:
    """The error for a name that is not in a registry: what was given, the close matches, the choices."""
    choices = list(choices)
    return UsageError(f"unknown {what} {value!r}{did_you_mean(value, choices)}; choose from: {', '.join(choices)}")
