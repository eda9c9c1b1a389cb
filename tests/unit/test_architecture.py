"""The package's shape, read from its source (every import, at module level or inside a function).

- Dependencies point one way: cli -> commands -> lifecycle -> engine -> core, and
  commands -> targets -> core; `errors` and `report` are shared by all and import none of them.
- No import cycles, between modules or packages.
- The core imports no engine, lifecycle, commands or targets, no typer, rich, docker or
  subprocess, raises only core errors (errors.CORE_ERRORS) and does not read the process environment.
- Only the CLI reads the process environment (it passes it down) and imports typer; only the
  engine imports docker; only engine/compose.py imports subprocess.
- No module is over MAX_LINES lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import mlstack
from mlstack.errors import CORE_ERRORS

PACKAGE = Path(mlstack.__file__).parent
MAX_LINES = 400

# What each layer may import from mlstack (lower layers, never higher ones).
SHARED = {"errors", "report", "records", "patterns", "mlstack"}
MAY_IMPORT = {
    "cli": {"commands"} | SHARED,
    "schemas": set(),             # data: the Compose JSON schema
    "commands": {"lifecycle", "targets", "engine", "core"} | SHARED,
    "lifecycle": {"engine", "core"} | SHARED,
    "targets": {"core"} | SHARED,
    "engine": {"core"} | SHARED,
    "core": {"schemas"} | SHARED,
    "errors": SHARED,
    "report": SHARED,
    "records": set(),             # dataclass-like records (mlstack/records.py): the standard library only
    "patterns": set(),            # regular expressions compiled when first used: the standard library only
    "mlstack": SHARED,
}
# Third-party and standard modules reserved to one part of the package.
ONLY_IN = {
    "typer": ("cli",),
    "click": ("cli",),
    "docker": ("engine",),
    "subprocess": ("engine.compose",),
    "rich": ("lifecycle",),
}
# The core's own rules break here until the files' owners (busy with other work) change them.
PENDING: set[tuple[str, str]] = set()
# Modules over MAX_LINES until their owners split them by job.
PENDING_SIZE: set[str] = set()


@dataclass
class Module:
    name: str                       # "lifecycle.running": the dotted name under mlstack
    path: Path
    imports: set[str] = field(default_factory=set)       # every imported name, dotted, absolute
    error_names: set[str] = field(default_factory=set)   # names imported from mlstack.errors
    reads_environment: bool = False

    @property
    def layer(self) -> str:
        top = self.name.split(".")[0]
        return {"__main__": "cli", "__init__": "mlstack"}.get(top, top)


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        if relative.parts[0] == "templates":   # build contexts shipped to users, not mlstack's code
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" and len(relative.parts) > 1 else relative.parts
        module = Module(".".join(parts), path)
        _read(module, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found[module.name] = module
    return found


def _read(module: Module, tree: ast.AST) -> None:
    package = module.name.split(".")[:-1] if module.path.name != "__init__.py" else module.name.split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module.imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: from the module's package
                anchor = ["mlstack", *package][:len(package) + 2 - node.level]
                base = ".".join(anchor + ([base] if base else []))
            module.imports.add(base)
            module.imports.update(f"{base}.{alias.name}" for alias in node.names)
            if base == "mlstack.errors":
                module.error_names.update(alias.name for alias in node.names)
            if base == "os" and any(alias.name in ("environ", "environb", "getenv", "putenv") for alias in node.names):
                module.reads_environment = True
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "environb", "getenv", "putenv", "unsetenv"):
            module.reads_environment = True


MODULES = _modules()


def _internal(module: Module) -> set[str]:
    """The mlstack modules (or packages) it imports, as names under mlstack."""
    found = set()
    for name in module.imports:
        if name == "mlstack" or not name.startswith("mlstack."):
            continue
        name = name[len("mlstack."):]
        while name not in MODULES and "." in name:   # `from mlstack.core.model import Node`
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module.name:
            found.add(name)
    return found


def _layer_of(name: str) -> str:
    return MODULES[name].layer


def test_the_reader_sees_every_kind_of_import():
    """A guard on the test itself: imports inside functions and under TYPE_CHECKING count too."""
    assert "engine.docker_facts" in _internal(MODULES["lifecycle.running"])   # inside a function
    assert "core.pipeline" in _internal(MODULES["lifecycle.running"])          # under TYPE_CHECKING
    assert "docker" in MODULES["engine.api"].imports                           # inside a method


@pytest.mark.parametrize("name", sorted(MODULES))
def test_dependencies_point_one_way(name):
    module = MODULES[name]
    wrong = sorted(f"{other} ({_layer_of(other)})" for other in _internal(module)
                   if _layer_of(other) != module.layer and _layer_of(other) not in MAY_IMPORT[module.layer])
    assert not wrong, f"mlstack.{name} ({module.layer}) may import only {sorted(MAY_IMPORT[module.layer])}, not {wrong}"


def test_every_module_has_a_layer():
    assert {module.layer for module in MODULES.values()} <= set(MAY_IMPORT)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    graph = {name: _internal(module) for name, module in MODULES.items()}
    assert _cycles(graph) == []


def test_no_import_cycles_between_layers():
    graph: dict[str, set[str]] = {}
    for name, module in MODULES.items():
        graph.setdefault(module.layer, set()).update(
            _layer_of(other) for other in _internal(module) if _layer_of(other) != module.layer)
    assert _cycles(graph) == []


@pytest.mark.parametrize("top, allowed", sorted(ONLY_IN.items()))
def test_reserved_imports(top, allowed):
    users = sorted(name for name, module in MODULES.items()
                   if any(imported == top or imported.startswith(top + ".") for imported in module.imports)
                   and not any(name == place or name.startswith(place + ".") for place in allowed))
    assert users == [], f"only {', '.join(allowed)} may import {top}"


def _core_problems(module: Module) -> list[str]:
    problems = []
    foreign = sorted(set(module.error_names) - set(CORE_ERRORS) - {"ExitCode"})
    if foreign:
        problems.append(f"raises {', '.join(foreign)}, not a core error")
    if module.reads_environment:
        problems.append("reads os.environ")
    return problems


@pytest.mark.parametrize("name", sorted(name for name, module in MODULES.items() if module.layer == "core"))
def test_the_core_raises_core_errors_and_reads_no_environment(name):
    problems = [problem for problem in _core_problems(MODULES[name]) if (name, problem) not in PENDING]
    assert problems == []


def test_pending_exceptions_are_still_needed():
    """Remove an entry from PENDING once its module keeps the rule."""
    stale = sorted((name, problem) for name, problem in PENDING if problem not in _core_problems(MODULES[name]))
    assert stale == []


def test_only_the_cli_reads_the_process_environment():
    readers = sorted(name for name, module in MODULES.items() if module.reads_environment and module.layer != "cli")
    assert readers == sorted(name for name, _ in PENDING if name in readers)



def _lines(name: str) -> int:
    return len(MODULES[name].path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("name", sorted(set(MODULES) - PENDING_SIZE))
def test_no_module_is_over_the_size_limit(name):
    lines = _lines(name)
    assert lines <= MAX_LINES, f"mlstack.{name} has {lines} lines: split it by job (docs: STYLE, 'about 400 lines')"


def test_pending_sizes_are_still_over_the_limit():
    """Remove a module from PENDING_SIZE once it is split."""
    assert sorted(name for name in PENDING_SIZE if _lines(name) <= MAX_LINES) == []
