"""The phases, in their order, written once: stack -> files -> load/merge -> adjust -> validate -> render."""

from __future__ import annotations

from mlstack.records import field, record
from pathlib import Path as FsPath

from mlstack.core.model import Node, Origin, path_str
from mlstack.core.profiles import enabled_profiles
from mlstack.core.project import ComposeFile, Model, ParsedFiles, load_project
from mlstack.core.render import Header, dump, to_document
from mlstack.core.secrets import Secret, declared, hidden_references, interpolation_env, missing, required_in, wire
from mlstack.core.stack import Profile, Stack, environment
from mlstack.errors import StackError
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any

    from mlstack.core.gpu import GpuPlan


@record
class Rendered:
    stack: Stack
    profile: Profile
    model: Model
    env: dict[str, str]
    header: Header
    project_name: str
    warnings: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets: dict[str, Secret] = field(default_factory=dict)     # every declared secret (core.secrets)
    required_secrets: list[Secret] = field(default_factory=list)  # those this profile requires

    def missing_secrets(self) -> list[Diagnostic]:
        """What the deploy host does not provide now: `up`, `seed`, `doctor`, `validate --check-secrets` ask."""
        return missing(self.root, self.env, self.stack.directory)

    @property
    def root(self) -> Node:
        return self.model.root

    @property
    def compose_profiles(self) -> tuple[str, ...]:
        """The Compose service profiles the stack's environment enables (COMPOSE_PROFILES, which
        may come from its .env): Compose must be given them as `--profile` where it reads the
        render, since it reads no .env there."""
        return enabled_profiles(self.env)

    def document(self, out_dir: FsPath | None = None) -> dict[str, Any]:
        return to_document(self.model.root, self.stack.directory, out_dir)

    def text(self, out_dir: FsPath | None = None, output_format: str = "yaml") -> str:
        self.header.notes = list(self.notes)
        return dump(self.document(out_dir), self.header, output_format)


def compose_files(stack: Stack, profile: Profile) -> list[ComposeFile]:
    files = [ComposeFile(ref.path, ref.display) for ref in stack.fragments]
    files += [ComposeFile(ref.path, ref.display, profile.name, scoped=ref.builtin) for ref in profile.overrides]
    return files


def build(stack: Stack, profile_name: str, process_env: dict[str, str], gpu: str | None = None,
          parsed_files: ParsedFiles | None = None) -> Rendered:
    """Everything but the engine: load, merge, apply the stack's adjustments, validate.

    `parsed_files`: the files an earlier step of the same command parsed (the secrets' declarations)."""
    parsed_files = parsed_files or ParsedFiles()
    profile = stack.profile(profile_name)
    if gpu:
        profile.gpu = gpu
    env = environment(stack, profile.name, process_env)
    secrets = declared(stack, parsed_files)
    required = required_in(secrets, stack, profile.name)
    project_name = f"{stack.name}-{profile.name}"
    # a required secret's value never reaches the model: its variable is not interpolated
    model = load_project(compose_files(stack, profile), interpolation_env(env, required), stack.directory, project_name,
                         parsed_files=parsed_files)
    root = model.root
    root.value["name"] = Node(project_name, Origin(str(stack.definition or "<default stack>"), rule="derived"))
    rendered = Rendered(stack, profile, model, env, Header(stack.name, profile.name, [ref.display for ref in stack.fragments] +
                                                             [ref.display for ref in profile.overrides]), project_name,
                        secrets=secrets, required_secrets=required)
    check_requirements(rendered)
    wire(root, required)
    rendered.warnings += hidden_references(root, required)
    check_secret_sources(rendered)
    apply_image_map(rendered)
    if profile.gpu == "off":   # decided without the engine: no facts needed
        from mlstack.core.gpu import plan_gpu

        apply_gpu(rendered, plan_gpu(root, "off", None))
    validate_rendered(rendered)
    return rendered


def apply_gpu(rendered: Rendered, plan: GpuPlan) -> list[str]:
    """Carry out a GPU plan on the model before the file is written; its lines go to the header notes."""
    from mlstack.core.gpu import apply_plan

    lines = apply_plan(rendered.root, rendered.model.tombstones, plan)
    rendered.notes += lines
    return lines


def check_requirements(rendered: Rendered) -> None:
    """Each fragment's `x-mlstack.requires` must be in the stack; its services then wait for theirs.

    Compose rejects `depends_on` across files that are validated alone, so fragments declare
    what they need in metadata and mlstack adds `depends_on: {svc: {condition: service_healthy}}`.
    """
    fragments = rendered.stack.fragments
    by_name = {ref.path.stem: index for index, ref in enumerate(fragments)}
    model = rendered.model
    services = rendered.root.get("services")
    present = services.value if services is not None and services.is_map else {}
    problems = []
    for index, ref in enumerate(fragments):
        meta = model.file_meta[index] if index < len(model.file_meta) else None
        requires = meta.get("requires") if meta is not None and meta.is_map else None
        for item in (requires.value if requires is not None and requires.is_seq else []):
            needed = item.text()
            if needed not in by_name:
                problems.append(Diagnostic.at(item, "x-mlstack.requires", f"fragment {ref.path.stem!r} requires the "
                                              f"{needed!r} fragment; add it to fragments in mlstack.yaml", "requires"))
                continue
            for dependent in sorted(model.file_services[index]):
                service = present.get(dependent)
                if service is None or not service.is_map:
                    continue
                origin = item.origin.with_rule("derived")
                depends = service.value.setdefault("depends_on", Node({}, origin))
                for dependency in sorted(model.file_services[by_name[needed]]):
                    if dependency in present and dependency not in depends.value:
                        depends.value[dependency] = Node({"condition": Node("service_healthy", origin),
                                                          "required": Node(True, origin)}, origin)
    if problems:
        raise StackError(problems[0].message, problems)


def check_secret_sources(rendered: Rendered) -> None:
    """A compose secret read from an environment variable needs it set when the service starts:
    Compose accepts the file without it, so an unset one is a warning now. Secrets declared to
    mlstack are not warned about here: `missing_secrets` names them where they are needed."""
    secrets = rendered.root.get("secrets")
    used = _secrets_used(rendered.root)
    for name, secret in sorted(secrets.value.items()) if secrets is not None and secrets.is_map else []:
        if name in rendered.secrets or name not in used:   # no service reads it: nothing will ask for it
            continue
        variable = secret.get("environment") if secret.is_map else None
        if variable is not None and variable.text() not in rendered.env:
            rendered.warnings.append(Diagnostic.at(
                variable, ("secrets", name, "environment"),
                f"secret {name!r} is read from ${variable.text()}, which is not set: set it before the service starts",
                "secret", "warning"))


def _secrets_used(root: Node) -> set[str]:
    services = root.get("services")
    used = set()
    for service in services.value.values() if services is not None and services.is_map else []:
        entries = service.get("secrets") if service.is_map else None
        for entry in entries.value if entries is not None and entries.is_seq else []:
            source = entry.get("source") if entry.is_map else entry
            if source is not None:
                used.add(source.text())
    return used


def apply_image_map(rendered: Rendered) -> None:
    """Map image references (mirrors, air-gapped registries, test stand-ins; core.image_map): a mapped
    service is never built; its image's origin is the rule that mapped it."""
    images = rendered.stack.images
    services = rendered.root.get("services")
    if not images or services is None:
        return
    for name in sorted(services.value):
        service = services.value[name]
        image = service.get("image") if service.is_map else None
        mapped = images.lookup(image.text()) if image is not None and image.is_scalar else None
        if mapped is not None:
            rendered.notes.append(f"image map: {name}: {image.text()} -> {mapped.reference} (rule {mapped.rule.key})")
            service.value["image"] = Node(mapped.reference, mapped.rule.origin)
            service.value.pop("build", None)


def validate_rendered(rendered: Rendered) -> None:
    """Schema and semantic checks; lint (core.lint) is a separate phase, run by `lint` and `validate`."""
    from mlstack.core.validate import check

    diagnostics = check(rendered.root, "compose", rendered.compose_profiles)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise StackError(errors[0].message, errors)
    rendered.warnings += [d for d in diagnostics if d.severity != "error"]


def provenance(rendered: Rendered, path: tuple) -> list[tuple[str, Any, Origin]]:
    """(path, value, origin) for the node at `path` and every node under it, plus removed values."""
    node = rendered.root.find(path)
    rows: list[tuple[str, Any, Origin]] = []
    if node is not None:
        for sub_path, child in node.walk(path):
            rows.append((path_str(sub_path), child.to_data() if child.is_scalar else None, child.origin))
    prefix = path_str(path)
    for where, origin in sorted(rendered.model.tombstones.items()):
        if where == prefix or where.startswith(prefix + ".") or where.startswith(prefix + "["):
            rows.append((where, "<removed>", origin))
    return rows
