#!/usr/bin/env python3
"""Trace the path of one ``edgekit bench`` request through edgekit's modules and layers (issue 31).

    PYTHONPATH=. python scripts/trace_path.py [--db /tmp/x.db] [--show] [-- BENCH ARGS ...]

Runs ``edgekit bench tests/data/tiny_fp32.tflite --runs 2 --rounds 2 --db /tmp/x.db`` (or the arguments after
``--``) in this process twice through typer's CliRunner: once untraced, so that every module is imported and no
import-time code is counted, then under ``sys.setprofile``. Only calls made in this process, from the moment
``edgekit.app.bench.run_bench`` is entered until it returns, are counted (each round runs in a fresh process,
untraced). A frame belongs to a module when its file lies under edgekit/, bench/, targets/ or converters/ of this
checkout; frames of other code (the standard library, numpy) are looked through to the nearest edgekit caller.

It prints three figures:

- modules: the distinct modules whose functions ran;
- climbs: calls from a module of a lower layer into one of a higher layer (a callback from ``bench/`` into
  ``edgekit/app/``, say), layers as tests/test_architecture.py has them: core < bench < targets < models/converters <
  application (edgekit/cli, edgekit/app, edgekit/study);
- returns: returns from a function to a caller in another module.

Climbs and returns are given as events (every call counted), as distinct call edges (caller function -> callee
function, each counted once: what a reader following the code has to visit) and as distinct module pairs (caller
module -> callee module). ``--show`` lists
the modules in the order they were first entered, and the distinct climbing edges.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("edgekit", "bench", "targets", "converters")
DEFAULT = ["tests/data/tiny_fp32.tflite", "--runs", "2", "--rounds", "2"]


def module_of(filename: str) -> str | None:
    """``edgekit/app/bench.py`` -> ``edgekit.app.bench``; None for a file outside the four packages."""
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    if rel.parts[0] not in PACKAGES or rel.suffix != ".py":
        return None
    return ".".join(rel.with_suffix("").parts).removesuffix(".__init__")


def layer(module: str) -> int:
    """0 core, 1 bench, 2 targets, 3 models/converters, 4 application."""
    parts = module.split(".")
    if parts[0] in ("bench", "targets", "converters"):
        return {"bench": 1, "targets": 2, "converters": 3}[parts[0]]
    if len(parts) > 1 and parts[1] in ("cli", "app", "study"):
        return 4
    return 3 if len(parts) > 1 and parts[1] == "models" else 0


class Tracer:
    def __init__(self) -> None:
        self.active = 0  # depth inside run_bench
        self.order: list[str] = []
        self.climbs = self.returns = 0
        self.climb_edges: set[tuple[str, str]] = set()
        self.return_edges: set[tuple[str, str]] = set()
        self.mods: dict[int, str | None] = {}

    def _mod(self, code) -> str | None:
        key = id(code)
        if key not in self.mods:
            self.mods[key] = module_of(code.co_filename)
        return self.mods[key]

    def _caller(self, frame):
        """The nearest frame above ``frame`` in one of the four packages, and its module."""
        f = frame.f_back
        while f is not None:
            mod = self._mod(f.f_code)
            if mod is not None:
                return f, mod
            f = f.f_back
        return None, None

    def __call__(self, frame, event, _arg) -> None:
        if event not in ("call", "return"):
            return
        code = frame.f_code
        mod = self._mod(code)
        if mod is None:
            return
        if code.co_name == "run_bench" and mod == "edgekit.app.bench":
            self.active += 1 if event == "call" else -1
            if event == "call" and mod not in self.order:
                self.order.append(mod)
            return
        if not self.active:
            return
        caller, cmod = self._caller(frame)
        if cmod is None:
            return
        edge = (f"{cmod}.{caller.f_code.co_name}", f"{mod}.{code.co_name}")
        if event == "call":
            if mod not in self.order:
                self.order.append(mod)
            if layer(cmod) < layer(mod):
                self.climbs += 1
                self.climb_edges.add(edge)
        elif cmod != mod:
            self.returns += 1
            self.return_edges.add(edge)


def _pairs(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Function edges as (caller module, callee module) pairs."""
    return {(a.rsplit(".", 1)[0], b.rsplit(".", 1)[0]) for a, b in edges}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="/tmp/x.db")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("bench_args", nargs="*")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from typer.testing import CliRunner

    from edgekit.cli import app

    command = ["bench", *(args.bench_args or DEFAULT), "--db", args.db]
    runner = CliRunner()
    first = runner.invoke(app, command)  # imports every module the path needs, untraced
    if first.exit_code != 0:
        print(first.output, file=sys.stderr)
        return first.exit_code
    tracer = Tracer()
    sys.setprofile(tracer)
    try:
        result = runner.invoke(app, command)
    finally:
        sys.setprofile(None)
    if result.exit_code != 0:
        print(result.output, file=sys.stderr)
        return result.exit_code
    print(f"modules: {len(tracer.order)}")
    print(f"climbs: {tracer.climbs} calls, {len(tracer.climb_edges)} distinct edges, "
          f"{len(_pairs(tracer.climb_edges))} module pairs")
    print(f"returns across modules: {tracer.returns} returns, {len(tracer.return_edges)} distinct edges, "
          f"{len(_pairs(tracer.return_edges))} module pairs")
    if args.show:
        print("modules in order: " + " -> ".join(tracer.order))
        for a, b in sorted(tracer.climb_edges):
            print(f"climb: {a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
