"""A conversion in its own Python process, so that TensorFlow's memory goes back to the OS when it ends.

``edgekit study`` converts model after model; in one process each conversion's peak stays resident (glibc and
TensorFlow keep freed memory), and the study's peak was that of VGG-16 plus what came before (issue 22). Here a
child process runs :func:`converters.convert` and fills the conversion cache; the caller then reads the cached
result without TensorFlow. ``python -m converters.isolated ARGS_JSON RESULT_JSON`` is the child's side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from edgekit import interrupt
from edgekit.children import die_with_parent, stop
from edgekit.errors import EdgekitError
from edgekit.tempdirs import temp_dir

_ARGS = ("samples", "output", "force", "memory_check", "preprocess", "calibration")


def convert_in_child(model: str, mode: str, *, quiet: Callable[[], contextlib.AbstractContextManager] | None = None,
                     **kwargs):
    """:func:`converters.convert` of a zoo name or a file in a child process; the same ConversionResult.

    ``kwargs`` are convert's JSON-able keywords (samples, output, force, memory_check, preprocess, calibration).
    An error in the child is raised here with its message; a child killed by a signal (the OOM killer) says so.
    ``quiet()`` is entered around a conversion the cache does not hold (to send TensorFlow's output to a log, say);
    the cache is read before it, so that a warning about a damaged entry or an unusable cache reaches the caller's
    terminal."""
    from converters.convert import NotCached, convert

    unknown = set(kwargs) - set(_ARGS)
    if unknown:
        raise TypeError(f"convert_in_child takes {', '.join(_ARGS)}; got {', '.join(sorted(unknown))}")
    try:
        return convert(model, mode, **kwargs, cache_only=True)  # a cache hit needs no process (nor TensorFlow)
    except NotCached:
        pass
    with quiet() if quiet is not None else contextlib.nullcontext():
        return _convert_cold(model, mode, kwargs)


def _convert_cold(model: str, mode: str, kwargs: dict):
    """The conversion the cache does not hold: in a child process, whose cache entry this process then reads."""
    from converters import cache
    from converters.convert import convert, runs_staged
    from converters.stages import child_env

    if runs_staged(model, mode):  # its stages are processes already, and this one imports no TensorFlow
        return convert(model, mode, **kwargs)
    if not cache.usable():  # the child could not hand its result back through the cache (the warning said so)
        return convert(model, mode, **kwargs)
    args = {"model": str(model), "mode": mode, **{k: str(v) if k == "output" else v for k, v in kwargs.items()}}
    env = child_env()
    started = time.perf_counter()
    with temp_dir("convert") as tmp:
        result_file = tmp / "result.json"
        proc = subprocess.Popen([sys.executable, "-m", "converters.isolated", json.dumps(args), str(result_file)],
                                env=env)
        try:
            proc.wait()
        except BaseException:  # Ctrl-C, SIGTERM: the child got it too; it removes its folders, or is killed
            stop(proc)
            raise
        doc = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if proc.returncode != 0:
        if doc.get("error"):
            raise EdgekitError(doc["error"])
        if proc.returncode < 0:
            raise EdgekitError(f"converting {model} to {mode} was killed by signal {-proc.returncode} (9 is "
                               "usually the out-of-memory killer); free some memory and run it again")
        raise EdgekitError(f"converting {model} to {mode} failed in its child process (exit status "
                           f"{proc.returncode}); its output is above or in the log")
    result = convert(model, mode, **kwargs)  # the cache entry the child wrote: no TensorFlow here
    if not result.cached:  # the cache could not be written: the conversion ran again, here
        return result
    return dataclasses.replace(result, cached=doc.get("cached", False), seconds=time.perf_counter() - started)


def _child(args_json: str, result_path: str) -> int:
    from converters.convert import convert

    args = json.loads(args_json)
    result_file = Path(result_path)
    try:
        with interrupt.guard():  # SIGTERM, forwarded by the parent or sent when it died, is Ctrl-C here too
            result = convert(args.pop("model"), args.pop("mode"), **args)
    except EdgekitError as err:
        result_file.write_text(json.dumps({"error": str(err)}))
        return 1
    except KeyboardInterrupt:
        return 130
    result_file.write_text(json.dumps({"cached": result.cached, "peak_rss_mb": result.peak_rss_mb}))
    return 0


if __name__ == "__main__":
    die_with_parent()
    sys.exit(_child(sys.argv[1], sys.argv[2]))
