"""Loading a list of compose files into one merged model: Compose's phases, in Compose's order.

Per file: parse -> interpolate -> canonical forms -> take !reset/!override -> extends -> include;
then merge into what came before, apply the tags, de-duplicate sequences, validate what is merged
so far against the schema (as Compose does: one file may complete another), fill defaults.
"""

from __future__ import annotations

import os
import re
from mlstack.records import field, record
from pathlib import Path as FsPath

from mlstack.core.canonical import canonical, fill_defaults
from mlstack.core.dotenv import read_env_file
from mlstack.core.interpolate import InterpolationError, interpolate, substitute
from mlstack.core.load import file_problem, load_yaml_documents, resolve_path
from mlstack.core.merge import enforce_unicity, merge_nodes
from mlstack.core.model import Node, Origin, Path, path_str
from mlstack.core.paths import rebase_tree
from mlstack.core.profiles import active_services, enabled_profiles
from mlstack.core.tags import apply_resets, drop_tagged_items, take_tagged
from mlstack.errors import ChoiceError, StackError
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Mapping

RESOURCES = ("services", "networks", "volumes", "secrets", "configs")


@record(frozen=True)
class ComposeFile:
    path: FsPath                       # absolute
    display: str                       # how messages name it
    profile: str = ""                  # the mlstack profile that brought it in ("" for fragments)
    scoped: bool = False               # built-in overrides apply only to services already present


@record
class Layer:
    """One file (or YAML document) ready to merge, and the paths its `!reset`/`!override` tags name."""
    node: Node
    tagged: list[tuple[Path, Node]] = field(default_factory=list)


@record
class Model:
    root: Node
    files: list[ComposeFile]
    tombstones: dict[str, Origin] = field(default_factory=dict)
    unset_variables: set[str] = field(default_factory=set)
    file_services: list[frozenset[str]] = field(default_factory=list)   # per file, the services it defines
    file_meta: list[Node | None] = field(default_factory=list)          # per file, its own x-mlstack block
    extended: dict[tuple[FsPath, str], Node] = field(default_factory=dict)  # files loaded for extends.file


class ParsedFiles:
    """Each compose file parsed once per render, however many phases read it (the secrets' declarations
    before interpolation, then the load); a file that fails to parse fails where it is loaded."""

    def __init__(self) -> None:
        self._documents: dict[ComposeFile, list[Node] | StackError | ChoiceError] = {}

    def documents(self, compose_file: ComposeFile) -> list[Node]:
        if compose_file not in self._documents:
            try:
                self._documents[compose_file] = _parse_documents(compose_file)
            except (StackError, ChoiceError) as error:
                self._documents[compose_file] = error
        found = self._documents[compose_file]
        if isinstance(found, Exception):
            raise found
        return found

    def meta(self, compose_file: ComposeFile) -> Node | None:
        """The file's own `x-mlstack` block, as loading records it (Model.file_meta); None where it does not parse."""
        try:
            documents = self.documents(compose_file)
        except (StackError, ChoiceError):
            return None   # loading the project reports it, in its place among the other files' problems
        meta = None
        for document in documents:
            meta = document.get("x-mlstack") or meta
        return meta


def load_project(files: list[ComposeFile], env: Mapping[str, str], project_dir: FsPath,
                 project_name: str | None = None, profiles: tuple[str, ...] | None = None,
                 chain: tuple[str, ...] = (), parsed_files: ParsedFiles | None = None) -> Model:
    """Merge `files` in order; `project_name` is Compose's `-p` (else it is found as Compose finds it),
    `profiles` its `--profile`s (else COMPOSE_PROFILES).

    `chain` is what is being loaded around these files (`include` and `extends`), to find cycles;
    `parsed_files`, the files an earlier phase of the same render already parsed.
    """
    parsed_files = parsed_files or ParsedFiles()
    parsed = [parsed_files.documents(compose_file) for compose_file in files]
    name = (project_name or env.get("COMPOSE_PROJECT_NAME") or declared_name([doc for docs in parsed for doc in docs], env)
            or normalize_name(project_dir.name))
    env = {**env, "COMPOSE_PROJECT_NAME": name}  # Compose sets it for interpolation, whatever the shell says
    merged = Node({}, Origin())
    model = Model(merged, list(files))
    for compose_file, documents in zip(files, parsed):
        services_defined: set[str] = set()
        meta: Node | None = None
        for document in documents:  # a file of several YAML documents merges them in turn, as Compose does
            present = merged.get("services")
            scope = frozenset(present.value) if compose_file.scoped and present is not None else None
            layer = _load_file(compose_file, env, project_dir, model, chain=chain, scope=scope, parsed=document)
            node = layer.node
            services = node.get("services")
            services_defined |= set(services.value) if services is not None and services.is_map else set()
            meta = node.get("x-mlstack") or meta
            merged = _merge_layer(merged, layer, model)
        model.file_services.append(frozenset(services_defined))
        model.file_meta.append(meta)
    model.root = merged
    _check_files_exist(merged, project_dir, enabled_profiles(env) if profiles is None else profiles)
    return model


def _merge_layer(merged: Node, layer: Layer, model: Model) -> Node:
    apply_resets(merged, layer.tagged, model.tombstones)
    merged = merge_nodes(merged, layer.node, ()) if merged.value else layer.node
    changed = _changed_part(merged, layer.node)
    enforce_unicity(changed)   # in place, in the entries merged shares with it
    _check_schema(changed)
    fill_defaults(merged)
    return merged


def _changed_part(merged: Node, layer: Node) -> Node:
    """The merged model as far as this layer can have changed it, to de-duplicate and for the schema to
    check: every top-level key, but of `services`, `networks`, ... (schema.entry_collections) only the
    entries the layer has (its resets and overrides name only those), the very nodes of the merged model.
    The other entries are as an earlier layer left them, de-duplicated and passed by the schema: a merge
    leaves an entry it does not reach as it is, and fill_defaults adds nothing the schema rejects. So the
    verdict, and each problem, is the whole model's, in a fraction of the time of going over the whole
    model again after each file."""
    from mlstack.core.schema import entry_collections

    collections = entry_collections("compose")
    part: dict[str, Node] = {}
    for key, node in merged.value.items():
        if key in collections and node.is_map:
            brought = layer.value.get(key)
            if brought is None:   # the layer has none of these: none changed
                node = Node({}, node.origin, node.tag, node.raw)
            elif brought.is_map and brought.value is not node.value:   # the same dict: all the layer's own
                node = Node({name: entry for name, entry in node.value.items() if name in brought.value},
                            node.origin, node.tag, node.raw)
        part[key] = node
    return Node(part, merged.origin, merged.tag, merged.raw)


def _check_files_exist(root: Node, project_dir: FsPath, profiles: tuple[str, ...]) -> None:
    """The env and label files of the services that run must exist, as Compose requires (an
    env file with `required: false` may be missing)."""
    services = root.get("services")
    problems = []
    for name in sorted(active_services(root, profiles)):
        for key, kind in (("env_file", "env file"), ("label_file", "label file")):
            entries = services.value[name].get(key)
            for index, entry in enumerate(entries.value if entries is not None and entries.is_seq else []):
                path = entry.get("path") if entry.is_map else entry
                required = entry.get("required") if entry.is_map else None
                if path is None or (required is not None and required.text().lower() == "false"):
                    continue
                if not (project_dir / path.text()).is_file():
                    origin = path.origin
                    problems.append(Diagnostic.at(origin, path_str(("services", name, key, index)),
                                               f"{kind} {path.text()} not found", "missing-file"))
    if problems:
        raise StackError(problems[0].message, problems)


def declared_name(parsed: list[Node], env: Mapping[str, str]) -> str:
    """The last `name:` the files declare, interpolated and normalized, as Compose reads it first."""
    declared = ""
    for node in parsed:
        name = node.get("name")
        if name is not None and isinstance(name.value, str) and name.value:
            declared = name.value
    if not declared:
        return ""
    try:
        return normalize_name(substitute(declared, env))
    except InterpolationError:
        return ""  # reported, located, when the file itself is interpolated


def normalize_name(text: str) -> str:
    """Compose's project name: lower case, only [a-z0-9_-], no leading `_` or `-`."""
    return re.sub(r"[^a-z0-9_-]", "", text.lower()).lstrip("_-")


def _parse_documents(compose_file: ComposeFile, referenced_from: Origin | None = None) -> list[Node]:
    return load_yaml_documents(compose_file.path, compose_file.display, compose_file.profile, "compose file",
                               referenced_from)


def _fail(origin: Origin, path: str, message: str, rule: str) -> StackError:
    return StackError(message, [Diagnostic.at(origin, path, message, rule)])


def _load_file(compose_file: ComposeFile, env: Mapping[str, str], project_dir: FsPath, model: Model,
               chain: tuple[str, ...], referenced_from: Origin | None = None,
               scope: frozenset[str] | None = None, parsed: Node | None = None) -> Layer:
    if parsed is None:  # an extended file: each of its YAML documents loaded, then merged in turn
        layers = [_load_file(compose_file, env, project_dir, model, chain, scope=scope, parsed=document)
                  for document in _parse_documents(compose_file, referenced_from)]
        node = layers[0].node
        for layer in layers[1:]:
            apply_resets(node, layer.tagged, {})
            node = merge_nodes(node, layer.node, ())
        return Layer(node)
    node = parsed
    drop_tagged_items(node)
    interpolate(node, env, model.unset_variables)
    services = node.get("services")
    if compose_file.scoped and services is not None and services.is_map:
        # after interpolation: a built-in override's ${VAR:?} checks hold for the whole file, as in Compose
        for name in [name for name in services.value if name not in (scope or ())]:
            del services.value[name]
    node = canonical(node)
    resets, overrides = take_tagged(node)
    # before extends: a service's tags apply to what it extends too, as Compose applies them
    _apply_extends(node, compose_file, env, project_dir, model, chain, resets + overrides)
    _apply_include(node, compose_file, env, project_dir, model, resets + overrides, chain)
    return Layer(node, resets + overrides)


def _check_schema(node: Node) -> None:
    """What is merged so far against the Compose schema, after interpolation, as Compose does."""
    from mlstack.core.schema import validate

    problems = validate(node, "compose")
    if problems:
        raise StackError(problems[0].message, problems)


def _apply_extends(node: Node, compose_file: ComposeFile, env, project_dir: FsPath, model: Model, chain,
                   tagged: list[tuple[Path, Node]]) -> None:
    services = node.get("services")
    if services is None or not services.is_map:
        return
    file_dir = compose_file.path.parent
    done: set[str] = set()

    def resolve(name: str, stack: tuple[str, ...]) -> None:
        if name in done:
            return
        service = services.value[name]
        extends = service.get("extends") if service.is_map else None
        if extends is None:
            done.add(name)
            return
        origin = extends.origin
        key = f"{compose_file.path}:{name}"
        if key in stack:
            names = [s.rsplit(":", 1)[1] for s in stack + (key,) if not s.startswith(_INCLUDING)]
            raise _fail(origin, f"services.{name}.extends", f"extends cycle: {' -> '.join(names)}", "extends")
        base_name_node = extends.get("service")
        if base_name_node is None:
            raise _fail(origin, f"services.{name}.extends", "extends needs a service", "extends")
        base_name = base_name_node.text()
        file_node = extends.get("file")
        if file_node is not None and not file_node.is_scalar:
            raise _fail(file_node.origin, f"services.{name}.extends.file", "expected a file name", "extends")
        if file_node is None:
            if base_name not in services.value:
                raise _fail(origin, f"services.{name}.extends.service", f"extends names service {base_name!r}, which this file does not define", "extends")
            resolve(base_name, stack + (key,))
            base = _copy(services.value[base_name])
        else:
            other_path = resolve_path(file_dir / file_node.text())
            other = ComposeFile(other_path, _display(compose_file.display, file_node.text()), compose_file.profile)
            if (other_path, other.profile) not in model.extended:  # once: each load would load its own bases again
                model.extended[(other_path, other.profile)] = _load_file(other, env, project_dir, model, chain + (key,),
                                                                         file_node.origin).node
            other_node = _copy(model.extended[(other_path, other.profile)])
            other_services = other_node.get("services")
            if other_services is None or not other_services.is_map or base_name not in other_services.value:
                raise _fail(file_node.origin, f"services.{name}.extends.service",
                            f"extends names service {base_name!r}, which {file_node.text()} does not define", "extends")
            base = other_services.value[base_name]
            rebase_tree(Node({"services": Node({name: base}, base.origin)}, base.origin), other_path.parent, file_dir)
        if not base.is_map:
            got = "null" if base.value is None else "a list" if base.is_seq else "a scalar"
            raise _fail(base.origin, f"services.{base_name}", f"expected a mapping to extend, got {got}", "extends")
        del service.value["extends"]
        base.value.pop("extends", None)
        # the base stands in for the service: the service's !reset and !override paths remove from it
        apply_resets(Node({"services": Node({name: base}, base.origin)}, base.origin),
                     [(where, tag) for where, tag in tagged if where[:2] == ("services", name)], model.tombstones)
        merged = merge_nodes(base, service, ("services", name))
        for _, child in merged.walk():
            if child.origin.rule == "set" and child.origin.file != compose_file.display:
                child.origin = child.origin.with_rule("extended")
        services.value[name] = merged
        done.add(name)

    for service_name in list(services.value):
        resolve(service_name, chain)


def _copy(node: Node) -> Node:
    if node.is_map:
        return Node({key: _copy(child) for key, child in node.value.items()}, node.origin, node.tag, node.raw)
    if node.is_seq:
        return Node([_copy(child) for child in node.value], node.origin, node.tag, node.raw)
    return Node(node.value, node.origin, node.tag, node.raw)


def _display(parent_display: str, relative: str) -> str:
    parent = FsPath(parent_display).parent
    return str(parent / relative) if str(parent) != "." else relative


_INCLUDING = "include:"   # marks a chain entry as a file being included, not a service being extended


def _apply_include(node: Node, compose_file: ComposeFile, env, project_dir: FsPath, model: Model,
                   tagged: list[tuple[Path, Node]], chain: tuple[str, ...]) -> None:
    include = node.value.pop("include", None)
    if include is None:
        return
    file_dir = compose_file.path.parent
    chain = chain + (f"{_INCLUDING}{compose_file.path}",)
    for index, entry in enumerate(include.value if include.is_seq else [include]):
        paths = [entry] if entry.is_scalar else []
        included_dir: FsPath | None = None
        directory: Node | None = None
        env_files: list[Node] = []
        if entry.is_map:
            path_node = entry.get("path")
            paths = (path_node.value if path_node is not None and path_node.is_seq else [path_node]) if path_node else []
            directory = entry.get("project_directory")
            env_file = entry.get("env_file")
            if env_file is not None:
                env_files = env_file.value if env_file.is_seq else [env_file]
        if not paths:
            raise _fail(entry.origin, f"include[{index}]", "include needs a path", "include")
        for named in paths + env_files + ([directory] if directory is not None else []):
            if not named.is_scalar or named.value is None:
                raise _fail(named.origin, f"include[{index}]", "expected a file name", "include")
        if directory is not None:
            included_dir = resolve_path(file_dir / directory.text())
        files = [ComposeFile(resolve_path(file_dir / p.text()), _display(compose_file.display, p.text()), compose_file.profile)
                 for p in paths]
        included_dir = included_dir or files[0].path.parent
        included_env = dict(env)
        for env_node in env_files:
            included_env = {**read_env_file(resolve_path(file_dir / env_node.text()), env_node.text(), env_node.origin, env), **included_env}
        if not env_files and (included_dir / ".env").is_file():
            included_env = {**read_env_file(included_dir / ".env", str(included_dir / ".env"), None, env), **included_env}
        for ref in files:
            problem = file_problem(ref.path, "included file", ref.display)
            if problem:
                raise _fail(entry.origin, f"include[{index}]", problem, "include")
            if f"{_INCLUDING}{ref.path}" in chain:  # Compose: "include cycle detected"
                cycle = [item[len(_INCLUDING):] for item in chain if item.startswith(_INCLUDING)] + [str(ref.path)]
                cycle = cycle[cycle.index(str(ref.path)):]
                shown = " -> ".join(os.path.relpath(path, file_dir) for path in cycle)
                raise _fail(entry.origin, f"include[{index}]", f"include cycle: {shown}", "include")
        included = load_project(files, included_env, included_dir, chain=chain)
        rebase_tree(included.root, included_dir, project_dir if compose_file.path.parent == project_dir else file_dir)
        # the tags inside a resource the including file defines again apply to the included one
        # (a tag on the whole resource does not: the included one is still added, as in Compose)
        apply_resets(included.root, [(where, tag) for where, tag in tagged if len(where) > 2], model.tombstones)
        for resource in RESOURCES:
            imported = included.root.get(resource)
            if imported is None or not imported.is_map:
                continue
            own = node.value.setdefault(resource, Node({}, entry.origin))
            for name, value in imported.value.items():
                # defined here too (or by an earlier include): that definition is merged over the included one
                mine = own.value.get(name)
                own.value[name] = value if mine is None else merge_nodes(value, mine, (resource, name))
        model.unset_variables |= included.unset_variables
