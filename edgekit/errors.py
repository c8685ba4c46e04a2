"""edgekit's exception types. The CLI maps each to a one-line message and an exit code."""

from __future__ import annotations

import difflib
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


def unknown_name(kind: str, value: str, choices: Iterable[str]) -> UsageError:
    """The error for a name that is not in a registry: what was given, the close matches, the choices."""
    choices = list(choices)
    return UsageError(f"unknown {kind} {value!r}{did_you_mean(value, choices)}; choose from: {', '.join(choices)}")
