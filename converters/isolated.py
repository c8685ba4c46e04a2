"""A conversion in its own Python process, so that TensorFlow's memory goes back to the OS when it ends.

``edgekit study`` converts model after model; in one process each conversion's peak stays resident (glibc and
TensorFlow keep freed memory), and the study's peak was that of VGG-16 plus what came before (issue 22). Here a
child process (``edgekit.child_process``) runs :func:`converters.convert`, which fills the conversion cache as
usual, and answers with its ConversionResult; ``python -m converters.isolated`` is the child's side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable

from converters.conversion_result import ConversionResult
from edgekit import child_process

_ARGS = ("samples", "output", "force", "memory_check", "preprocess", "calibration")


def convert_in_child(model: str, mode: str, *, quiet: Callable[[], contextlib.AbstractContextManager] | None = None,
                     **kwargs) -> ConversionResult:
    """:func:`converters.convert` of a zoo name or a file in a child process; the same ConversionResult.

    ``kwargs`` are convert's JSON-able keywords (samples, output, force, memory_check, preprocess, calibration).
    An error in the child is raised here as its type; a child killed by a signal (the OOM killer) says so. The
    conversion runs once at most: a cache hit is read here, without a process (nor TensorFlow).
    ``quiet()`` is entered around a conversion the cache does not hold (to send TensorFlow's output to a log, say);
    the cache is read before it, so that a warning about a damaged entry or an unusable cache reaches the caller's
    terminal."""
    from converters.convert import NotCached, convert, runs_staged

    unknown = set(kwargs) - set(_ARGS)
    if unknown:
        raise TypeError(f"convert_in_child takes {', '.join(_ARGS)}; got {', '.join(sorted(unknown))}")
    try:
        return convert(model, mode, **kwargs, cache_only=True)
    except NotCached:
        pass
    with quiet() if quiet is not None else contextlib.nullcontext():
        if runs_staged(model, mode):  # its stages are processes already, and this one imports no TensorFlow
            return convert(model, mode, **kwargs)
        started = time.perf_counter()
        request = {"model": str(model), "mode": mode, **{k: str(v) if k == "output" else v for k, v in kwargs.items()}}
        child = child_process.Child(module="converters.isolated", what=f"converting {model} to {mode}")
        result = ConversionResult.from_dict(child_process.run(child, request))
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


def _serve(request: dict, _progress) -> dict:
    from converters.convert import convert

    return convert(request.pop("model"), request.pop("mode"), **request).to_dict()


if __name__ == "__main__":
    sys.exit(child_process.serve(_serve))
