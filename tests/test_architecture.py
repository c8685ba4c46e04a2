"""The layers, enforced: every import (inside functions too) points down the table in the README's
"Architecture" section, and no two modules import each other in a circle.

Layers, bottom to top: core (edgekit.errors, atomic, metrics, analysis, runtime, data), bench, targets;
edgekit.models (core only) and converters (core and models) beside them; the application on top
(edgekit.cli, edgekit.study, edgekit.app, edgekit.__main__), the only place that imports everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edgekit", "bench", "targets", "converters")

APP = "application"
ALLOWED = {
    "core": {"core"},
    "bench": {"core", "bench"},
    "targets": {"core", "bench", "targets"},
    "models": {"core", "models"},
    "converters": {"core", "models", "converters"},
    APP: {"core", "bench", "targets", "models", "converters", APP},
}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to; None for anything outside the project."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if top != "edgekit":
        return top
    second = module.split(".")[1] if "." in module else ""
    if second in ("cli", "study", "app", "__main__"):
        return APP
    if second == "models":
        return "models"
    return "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    if not node.level:
        base = node.module or ""
        # "from pkg import sub" may import a submodule: count both
        return [base] + [f"{base}.{a.name}" for a in node.names]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    base = ".".join(package + ([node.module] if node.module else []))
    return [base] + [f"{base}.{a.name}" for a in node.names]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every project module imported anywhere in the file (module level or inside functions)."""
    module = module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = _resolve(module, path, node)
        else:
            continue
        found += [(n, node.lineno) for n in names if layer_of(n)]
    return found


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _existing(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names (a submodule import counts only if the file exists)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_every_import_points_down_the_layers():
    modules = project_modules()
    wrong = []
    for module, path in modules.items():
        mine = layer_of(module)
        for name, line in imports_of(path):
            theirs = layer_of(name)
            if theirs not in ALLOWED[mine]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} ({mine}) imports {name} ({theirs})")
    assert not wrong, "imports that climb the layers:\n" + "\n".join(wrong)


def _graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name, _ in imports_of(path):
            target = _existing(name, modules)
            # a package's __init__ importing its own submodules (re-exports) is not a circle between modules
            if target and target != module and not target.startswith(module + "."):
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_module_circles():
    cycles = _cycles(_graph())
    assert not cycles, "modules that import each other in a circle:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_study_module_in_bench():
    names = [p.name for p in (ROOT / "bench").glob("*.py")]
    assert not [n for n in names if n.startswith(("study", "report", "plots", "sources"))]


@pytest.mark.parametrize(("module", "layer"), [
    ("edgekit.errors", "core"), ("edgekit.analysis.macs", "core"), ("edgekit.runtime", "core"),
    ("bench.loop", "bench"), ("targets.registry", "targets"), ("edgekit.models.registry", "models"),
    ("converters.convert", "converters"), ("edgekit.cli.bench", APP), ("edgekit.study.collect", APP),
    ("numpy", None),
])
def test_layer_table(module, layer):
    assert layer_of(module) == layer


def test_the_checker_catches_a_climbing_import_inside_a_function(tmp_path, monkeypatch):
    """The rule sees imports inside functions, relative ones included."""
    fake = tmp_path / "bench"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text("def f():\n    from converters import convert\n    from .loop import x\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    found = imports_of(fake / "bad.py")
    assert ("converters", 2) in found and ("bench.loop", 3) in found
    assert layer_of("converters") not in ALLOWED["bench"]


def _commands(group, prefix: str = "edgekit"):
    """Every command callback of a typer app (sub-apps included), with its full name."""
    for cmd in group.registered_commands:
        yield f"{prefix} {cmd.name or cmd.callback.__name__}", cmd.callback
    for sub in group.registered_groups:
        name = sub.name if isinstance(sub.name, str) else sub.typer_instance.info.name
        yield from _commands(sub.typer_instance, f"{prefix} {name}")


def test_commands_are_plain_functions_whose_options_typer_shows_one_for_one():
    """No command's signature is rewritten: what typer offers is each function's own parameters, options
    keyword-only; and the shared options are defined once (edgekit/cli/_options.py), never copied."""
    import inspect

    import typer

    from edgekit.cli import app

    click_app = typer.main.get_command(app)
    commands = dict(_commands(app))
    assert len(commands) >= 11, sorted(commands)  # info, models, bench, results compare, check, convert, ...
    for name, fn in commands.items():
        assert not hasattr(fn, "__wrapped__") and "__signature__" not in vars(fn), f"{name} is rewritten"
        sig = inspect.signature(fn)
        click_cmd = click_app
        for word in name.split()[1:]:
            click_cmd = click_cmd.commands[word] if word in getattr(click_cmd, "commands", {}) else click_cmd
        shown = {p.name for p in click_cmd.params if p.name != "help"}
        declared = {n for n, p in sig.parameters.items() if p.annotation is not typer.Context
                    and "Context" not in str(p.annotation)}
        assert shown == declared, (name, shown ^ declared)
        options = [p.name for p in click_cmd.params if p.param_type_name == "option" and p.name != "help"]
        loose = [n for n in options if sig.parameters[n].kind is not inspect.Parameter.KEYWORD_ONLY]
        assert not loose, f"{name}: options must be keyword-only: {loose}"
    # bench really has every option as its own parameter now (24 of them, not 9 groups)
    assert len(inspect.signature(commands["edgekit bench"]).parameters) >= 24


def test_shared_options_are_declared_once():
    """--json, --db, --csv and the ssh options come from edgekit/cli/_options.py; no command spells them again."""
    import re

    shared = ("--json", "--db", "--csv", "--port", "--identity", "--ssh-config", "--insecure-no-host-key-check",
              "--remote-python", "--alpha", "--classes")
    for path in sorted((ROOT / "edgekit" / "cli").glob("*.py")):
        if path.name == "_options.py":
            continue
        spelled = [flag for flag in shared if re.search(rf'typer\.Option\(\s*"{re.escape(flag)}"', path.read_text())]
        assert not spelled, f"{path.name} declares {spelled} again; use the types in edgekit/cli/_options.py"


def test_convert_has_a_flag_for_every_quantization_mode():
    """The mode flags are written out in edgekit/cli/convert.py: a mode added to the registry must get one."""
    import typer

    from edgekit.cli import app
    from edgekit.quant_modes import QuantMode

    convert = typer.main.get_command(app).commands["convert"]
    flags = {opt for p in convert.params for opt in p.opts}
    assert {f"--{m.value}" for m in QuantMode} | {"--quant"} <= flags


def test_requests_take_at_most_three_positional_arguments():
    import dataclasses
    import inspect

    from edgekit.app.bench_request import BenchRequest, LoopArgs, RemoteArgs
    from edgekit.models.train import TrainConfig
    from edgekit.study.plan import make_plan

    for call in (TrainConfig, RemoteArgs, BenchRequest, LoopArgs, make_plan):
        params = inspect.signature(call).parameters.values()
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        assert len(positional) <= 3, (call.__name__, positional)
    assert dataclasses.is_dataclass(TrainConfig)
    with pytest.raises(TypeError):
        TrainConfig("lenet5", "digits", 3, 4)  # a fourth positional argument is refused


MAX_LINES, EXPLAIN_OVER = 300, 250  # issue 31: small single-job modules


def _module_sizes() -> list[tuple[str, int, str]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            doc = ast.get_docstring(ast.parse(text)) or ""
            out.append((str(path.relative_to(ROOT)), len(text.splitlines()), doc))
    return out


def test_no_module_is_over_300_lines_and_each_over_250_says_why_it_is_one_job():
    sizes = _module_sizes()
    assert len(sizes) > 100, "the walk found the packages"
    too_long = [f"{name} ({n} lines)" for name, n, _ in sizes if n > MAX_LINES]
    unexplained = [f"{name} ({n} lines)" for name, n, doc in sizes
                   if EXPLAIN_OVER < n <= MAX_LINES and "one job" not in doc.lower()]
    assert not too_long, f"split along their jobs: {too_long}"
    assert not unexplained, f"say in the module docstring why it is one job: {unexplained}"
