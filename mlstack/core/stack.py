"""The stack definition (mlstack.yaml): which fragments, which profiles, which variables.

Lookup: `-f FILE`, else `./mlstack.yaml`, else the embedded default stack (all built-in
fragments, built-in dev and prod profiles) so `mlstack render --profile dev` works anywhere.
"""

from __future__ import annotations

import os
from mlstack.records import field, record
from pathlib import Path as FsPath

from mlstack.core.catalogs import Catalog, CatalogEntry, CatalogEnvironment, parse_entries, qualified, resolve, verify_fragment
from mlstack.core.dotenv import read_env_file
from mlstack.core.image_map import ImageMap, compile_map
from mlstack.core.load import file_problem, load_yaml_file, resolve_path
from mlstack.core.model import Node, Origin
from mlstack.errors import ChoiceError, StackError
from mlstack.report import Diagnostic

STACK_FILE = "mlstack.yaml"
TEMPLATES_DIR = ".mlstack/templates"   # where the shipped build contexts are copied, in the stack directory
PACKAGE_DIR = FsPath(__file__).resolve().parent.parent
BUILTIN_FRAGMENTS = ("api", "qdrant", "redis", "postgres", "mlflow", "jupyter")
BUILTIN_PROFILES = ("dev", "prod")
DEFAULT_GPU_POLICY = {"dev": "auto", "prod": "required"}


def builtin_dir(name: str) -> FsPath:
    """`stacks` or `overrides`: in the wheel under mlstack/, in a checkout at the repo top."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


@record(frozen=True)
class SourceRef:
    """A fragment or override file and how messages and headers name it."""

    path: FsPath
    display: str      # for messages: relative to the stack dir, or mlstack:stacks/x.yaml
    builtin: bool
    origin: Origin    # where the stack definition names it


@record
class Profile:
    name: str
    overrides: list[SourceRef]
    gpu: str


@record
class Stack:
    name: str
    directory: FsPath
    definition: FsPath | None          # None for the embedded default stack
    fragments: list[SourceRef]
    profiles: dict[str, list[str | SourceRef]]
    profile_extends: dict[str, str]
    profile_gpu: dict[str, str]
    env_files: list[tuple[FsPath, Origin]]
    variables: dict[str, str]
    gpu: str | None
    images: ImageMap                   # `images:` (core.image_map)
    volumes: dict[str, dict]
    root: Node | None = None
    catalogs: list[Catalog] = field(default_factory=list)   # the project's stacks/, then `catalogs:` in order

    def profile_chain(self, name: str) -> list[str]:
        """The profile, then what it extends, up to the root: the one walk of `extends`."""
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ChoiceError(f"unknown profile {name!r}; this stack defines: {known}")
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            if current in chain:
                raise ChoiceError(f"profile {name!r} extends itself: {' -> '.join(chain + [current])}")
            if current not in self.profiles:
                raise ChoiceError(f"profile {chain[-1]!r} extends unknown profile {current!r}")
            chain.append(current)
            current = self.profile_extends.get(current)
        return chain

    def profile(self, name: str) -> Profile:
        chain = self.profile_chain(name)
        overrides: list[SourceRef] = []
        for profile_name in reversed(chain):
            for entry in self.profiles[profile_name]:
                overrides.extend(self._resolve_override(entry, profile_name))
        gpu = next((self.profile_gpu[p] for p in chain if p in self.profile_gpu), None)
        return Profile(name, overrides, gpu or self.gpu or DEFAULT_GPU_POLICY.get(chain[-1], "auto"))

    def _resolve_override(self, entry: str | SourceRef, profile: str) -> list[SourceRef]:
        if isinstance(entry, SourceRef):
            return [entry]
        local = self.directory / "overrides" / f"{entry}.yaml"
        if self.definition is not None and os.path.lexists(local):  # a broken one is reported, not skipped
            return [SourceRef(local, f"overrides/{entry}.yaml", False, Origin(str(self.definition)))]
        builtin = builtin_dir("overrides") / f"{entry}.yaml"
        return [SourceRef(builtin, f"mlstack:overrides/{entry}.yaml", True, Origin())]


def find_stack_file(explicit: str | None, cwd: FsPath) -> FsPath | None:
    if explicit:
        path = resolve_path(cwd / explicit)
        if not os.path.lexists(path):
            raise ChoiceError(f"stack definition not found: {explicit}")
        return path  # a directory, a loop or an unreadable file is reported, located, when it is read
    candidate = cwd / STACK_FILE
    return resolve_path(candidate) if os.path.lexists(candidate) else None


def default_stack(cwd: FsPath) -> Stack:
    fragments = [_builtin_fragment(name, Origin()) for name in BUILTIN_FRAGMENTS]
    return Stack(
        name="mlstack", directory=cwd, definition=None, fragments=fragments,
        profiles={name: [name] for name in BUILTIN_PROFILES}, profile_extends={}, profile_gpu={},
        env_files=[(cwd / ".env", Origin())] if os.path.lexists(cwd / ".env") else [],
        variables={}, gpu=None, images=ImageMap([]), volumes={},
    )


def _builtin_fragment(name: str, origin: Origin) -> SourceRef:
    return SourceRef(builtin_dir("stacks") / f"{name}.yaml", f"mlstack:stacks/{name}.yaml", True, origin)


def load_definition(path: FsPath, cwd: FsPath) -> tuple[Node, str]:
    """mlstack.yaml read and checked against its schema, and how messages name it."""
    display = os.path.relpath(path, cwd) if path.is_relative_to(cwd) else str(path)
    root = load_yaml_file(path, display, what="stack definition")
    from mlstack.core.validate import check  # schema compiled only when a definition exists

    problems = [d for d in check(root, "mlstack") if d.severity == "error"]
    if problems:
        raise StackError(problems[0].message, problems)
    return root, display


def load_stack(path: FsPath | None, cwd: FsPath, environment: CatalogEnvironment | None = None) -> Stack:
    """environment: the catalog cache and installed packages (docs/catalogs.md); None: no versioned catalog resolves."""
    if path is None:
        return default_stack(cwd)
    root, display = load_definition(path, cwd)
    data = root.to_data()
    directory = path.parent
    catalogs = [Catalog(CatalogEntry("", "directory", "stacks"), directory / "stacks", "stacks")]
    catalogs += load_catalogs(root, directory, display, environment or CatalogEnvironment())
    fragments_node = root.get("fragments")
    fragments: list[SourceRef] = []
    if fragments_node is None:
        fragments = [_builtin_fragment(name, root.origin) for name in BUILTIN_FRAGMENTS]
    else:
        for index, item in enumerate(fragments_node.value):
            fragments.append(_resolve_fragment(item, index, directory, catalogs, display))
    profiles: dict[str, list[str | SourceRef]] = {name: [name] for name in BUILTIN_PROFILES}
    extends: dict[str, str] = {}
    gpu: dict[str, str] = {}
    profiles_node = root.get("profiles")
    for name, body in (profiles_node.value.items() if profiles_node is not None else []):
        entries: list[str | SourceRef] = []
        overrides = body.get("overrides")
        for index, item in enumerate(overrides.value if overrides is not None else []):
            entries.append(_resolve_override_entry(item, directory, display, f"profiles.{name}.overrides[{index}]"))
        profiles[name] = entries
        if body.get("extends") is not None:
            extends[name] = body.get("extends").value
            if extends[name] not in profiles and extends[name] not in (profiles_node.value if profiles_node else {}):
                _fail(body.get("extends"), display, f"profiles.{name}.extends", f"unknown profile {extends[name]!r}")
        if body.get("gpu") is not None:
            gpu[name] = body.get("gpu").value
    for name in extends:
        _check_extends_cycle(name, extends, profiles_node, display)
    env_files_node = root.get("env_files")
    env_files = ([(directory / item.value, item.origin) for item in env_files_node.value] if env_files_node is not None
                 else ([(directory / ".env", Origin())] if os.path.lexists(directory / ".env") else []))
    variables = {key: _text(value) for key, value in data.get("variables", {}).items()}
    return Stack(
        name=data["name"], directory=directory, definition=path, fragments=fragments, profiles=profiles,
        profile_extends=extends, profile_gpu=gpu, env_files=env_files, variables=variables,
        gpu=data.get("gpu"), images=compile_map(root.get("images"), display), volumes=dict(data.get("volumes", {})),
        root=root, catalogs=catalogs,
    )


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fail(node: Node, file: str, path: str, message: str):
    origin = node.origin
    raise StackError(message, [Diagnostic(file, origin.line, origin.column, path, message, "stack")])


def _check_extends_cycle(name: str, extends: dict[str, str], profiles_node: Node, display: str) -> None:
    """A profile whose `extends` chain comes back to it is an invalid definition, shown where it loops."""
    chain = [name]
    while chain[-1] in extends:
        following = extends[chain[-1]]
        if following == name:
            _fail(profiles_node.value[chain[-1]].get("extends"), display, f"profiles.{chain[-1]}.extends",
                  f"profile extends cycle: {' -> '.join(chain + [name])}")
        if following in chain:
            return  # a cycle that does not pass through `name`: reported from its own members
        chain.append(following)


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.endswith((".yaml", ".yml"))


def load_catalogs(root: Node, directory: FsPath, display: str, environment: CatalogEnvironment) -> list[Catalog]:
    """The `catalogs:` entries, each resolved to a directory (versioned ones as mlstack.lock pins them)."""
    from mlstack.core.lockfile import LOCK_FILE, read_lock

    entries = parse_entries(root.get("catalogs"), directory, display)
    if all(entry.kind == "directory" for entry in entries):
        return resolve(entries, {}, directory, display, LOCK_FILE, environment)
    lock_display = os.path.join(os.path.dirname(display), LOCK_FILE)
    return resolve(entries, read_lock(directory / LOCK_FILE, lock_display), directory, display, lock_display, environment)


def _resolve_fragment(item: Node, index: int, directory: FsPath, catalogs: list[Catalog], display: str) -> SourceRef:
    text = item.value
    named = qualified(text, catalogs)
    if named is not None:
        catalog, fragment = named
        candidate = catalog.directory / f"{fragment}.yaml"
        if not os.path.lexists(candidate):
            known = ", ".join(sorted(p.stem for p in catalog.directory.glob("*.yaml"))) or "none"
            _fail(item, display, f"fragments[{index}]", f"catalog {catalog.label} has no fragment {fragment!r} (it has: {known})")
        return _catalog_fragment(item, index, directory, catalog, candidate, display)
    if _looks_like_path(text):
        path = resolve_path(directory / text)
        problem = file_problem(path, "fragment file", text)
        if problem:
            _fail(item, display, f"fragments[{index}]", problem)
        return SourceRef(path, os.path.relpath(path, directory), False, item.origin)
    for catalog in catalogs:
        candidate = catalog.directory / f"{text}.yaml"
        if os.path.lexists(candidate):  # a broken one is reported, not skipped
            return _catalog_fragment(item, index, directory, catalog, candidate, display)
    if (builtin_dir("stacks") / f"{text}.yaml").is_file():
        return _builtin_fragment(text, item.origin)
    known = ", ".join(sorted(p.stem for p in builtin_dir("stacks").glob("*.yaml")))
    _fail(item, display, f"fragments[{index}]", f"unknown fragment {text!r} (built-in: {known}; or give a path ending in .yaml)")


def _catalog_fragment(item: Node, index: int, directory: FsPath, catalog: Catalog, path: FsPath, display: str) -> SourceRef:
    # a versioned catalog's fragment is named by catalog and file: its cache path means nothing to a reader
    # (as the built-ins are: mlstack:stacks/api.yaml -> team:stacks/api.yaml)
    inside = f"{catalog.locked.path}/{path.name}" if catalog.locked and catalog.locked.path else path.name
    shown = f"{catalog.entry.name}:{inside}" if catalog.locked else os.path.relpath(path, directory)
    problem = file_problem(path, "fragment file", shown)
    if problem:
        _fail(item, display, f"fragments[{index}]", problem)
    verify_fragment(catalog, path, item, display, f"fragments[{index}]")
    return SourceRef(path, shown, False, item.origin)


def _resolve_override_entry(item: Node, directory: FsPath, display: str, where: str) -> str | SourceRef:
    text = item.value
    if not _looks_like_path(text):
        local = directory / "overrides" / f"{text}.yaml"
        problem = file_problem(local, "override file", f"overrides/{text}.yaml") if os.path.lexists(local) else None
        if problem:
            _fail(item, display, where, problem)
        if os.path.lexists(local) or (builtin_dir("overrides") / f"{text}.yaml").is_file():
            return text
        _fail(item, display, where, f"unknown override {text!r} (built-in: dev, prod; or give a path ending in .yaml)")
    path = resolve_path(directory / text)
    problem = file_problem(path, "override file", text)
    if problem:
        _fail(item, display, where, problem)
    return SourceRef(path, os.path.relpath(path, directory), False, item.origin)


def environment(stack: Stack, profile: str, process_env: dict[str, str]) -> dict[str, str]:
    """Interpolation variables: mlstack's own < stack variables < env files < the process environment."""
    api_dir = stack.directory / "api"
    env: dict[str, str] = {
        "MLSTACK_STACK": stack.name,
        "MLSTACK_PROFILE": profile,
        "MLSTACK_PROJECT_DIR": ".",
        # build contexts stay inside the stack directory (renders are byte-identical across machines);
        # commands that write or run a render copy the shipped templates there first
        "MLSTACK_TEMPLATES": f"./{TEMPLATES_DIR}",
        "MLSTACK_API_CONTEXT": "./api" if api_dir.is_dir() else f"./{TEMPLATES_DIR}/api",
    }
    env.update(stack.variables)
    for path, origin in stack.env_files:
        env.update(read_env_file(path, os.path.relpath(path, stack.directory), origin, process_env))
    env.update(process_env)
    return env
