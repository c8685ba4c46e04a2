"""A conversion in its own Python process, so that TensorFlow's memory goes back to the OS when it ends.

``edgekit study`` converts model after model; in one process each conversion's peak stays resident (glibc and
TensorFlow keep freed memory), and the study's peak was that of VGG-16 plus what came before (issue 22). Here a
child process runs :func:`converters.convert` and fills the conversion cache; the caller then reads the cached
result without TensorFlow. ``python -m converters.isolated ARGS_JSON RESULT_JSON`` is the child's side.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgekit.errors import EdgekitError

_ARGS = ("samples", "output", "force", "memory_check")


def convert_in_child(model: str, mode: str, **kwargs):
    """:func:`converters.convert` of a zoo name or a file in a child process; the same ConversionResult.

    ``kwargs`` are convert's JSON-able keywords (samples, output, force, memory_check). An error in the child is
    raised here with its message; a child killed by a signal (the OOM killer) says so."""
    from converters.convert import NotCached, convert, runs_staged
    from converters.stages import child_env

    unknown = set(kwargs) - set(_ARGS)
    if unknown:
        raise TypeError(f"convert_in_child takes {', '.join(_ARGS)}; got {', '.join(sorted(unknown))}")
    try:
        return convert(model, mode, **kwargs, cache_only=True)  # a cache hit needs no process (nor TensorFlow)
    except NotCached:
        pass
    if runs_staged(model, mode):  # its stages are processes already, and this one imports no TensorFlow
        return convert(model, mode, **kwargs)
    args = {"model": str(model), "mode": mode, **{k: str(v) if k == "output" else v for k, v in kwargs.items()}}
    env = child_env()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgekit-convert-") as tmp:
        result_file = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, "-m", "converters.isolated", json.dumps(args), str(result_file)],
                              env=env, check=False)
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
        result = convert(args.pop("model"), args.pop("mode"), **args)
    except EdgekitError as err:
        result_file.write_text(json.dumps({"error": str(err)}))
        return 1
    except KeyboardInterrupt:
        return 130
    result_file.write_text(json.dumps({"cached": result.cached, "peak_rss_mb": result.peak_rss_mb}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
