"""`mlstack init`, decided: which fragments, and the text of every file for a set of answers.

Pure: the caller reads the fragments and the templates and writes the files (lifecycle.init_project).
"""

from __future__ import annotations

import re
from mlstack.records import field, record
from typing import Any, Mapping

from mlstack.errors import ChoiceError
from mlstack.patterns import lazy

DEFAULT_SERVICES = ("api", "jupyter", "mlflow")
NAME_PATTERN = lazy(r"^[a-z0-9][a-z0-9_-]*$")   # mlstack.schema.json's `name`: a Compose project name
GPU_CHOICES = ("default", "auto", "required", "off")  # default: no `gpu:` key (dev auto, prod required)
# What a project's .gitignore must hold: dev settings, generated secrets and renders stay out of git.
GITIGNORE_ENTRIES = (".env", ".env.*", "!.env.example", ".mlstack/", "__pycache__/", ".venv/", ".ipynb_checkpoints/")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message} (not $${NAME}, an escaped dollar): the variable and its default.
VARIABLE = lazy(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^${}]*))?")


@record(frozen=True)
class Answers:
    name: str
    services: tuple[str, ...]
    gpu: str = "default"


@record(frozen=True)
class Variable:
    name: str
    default: str
    secret: str = ""      # the secret's description when a fragment declares it (x-mlstack.secrets)


@record
class Plan:
    fragments: list[str]
    added: list[tuple[str, str]]                      # (fragment, the chosen fragment that requires it)
    files: dict[str, str] = field(default_factory=dict)   # relative path -> text
    private: tuple[str, ...] = (".env",)              # written with mode 0600
    merged: tuple[str, ...] = (".gitignore",)         # extended, never a conflict


def default_name(directory_name: str) -> str:
    """The directory's name as a stack name: lower case, other characters as `-`."""
    name = re.sub(r"[^a-z0-9_-]+", "-", directory_name.lower()).strip("-_")
    return name if name and NAME_PATTERN.match(name) else "mlstack"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ChoiceError(f"stack name {name!r}: use lower-case letters, digits, '-' and '_', "
                          "starting with a letter or digit (it names the Compose project)")
    return name


def check_gpu(policy: str) -> str:
    if policy not in GPU_CHOICES:
        raise ChoiceError(f"GPU policy {policy!r}: unknown; choose from {', '.join(GPU_CHOICES)}")
    return policy


def parse_services(text: str, known: Mapping[str, Any]) -> tuple[str, ...]:
    """`api, jupyter,mlflow` -> the names, in order, once each; an unknown one is a usage error."""
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ChoiceError(f"services: unknown service{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          f"choose from {', '.join(sorted(known))}")
    if not names:
        raise ChoiceError(f"services: none named; choose from {', '.join(sorted(known))}")
    return tuple(names)


def with_requirements(chosen: tuple[str, ...], requires: Mapping[str, list[str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The chosen fragments plus every fragment they require (transitively), and which were added by whom."""
    fragments = list(chosen)
    added: list[tuple[str, str]] = []
    queue = list(chosen)
    while queue:
        name = queue.pop(0)
        for needed in requires.get(name, []):
            if needed not in fragments:
                fragments.append(needed)
                added.append((needed, name))
                queue.append(needed)
    return fragments, added


def variables_in(data: Any, found: dict[str, str]) -> dict[str, str]:
    """Every `${NAME...}` in the strings of `data`, with its default (the first one seen wins)."""
    if isinstance(data, str):
        for name, operator, default in VARIABLE.findall(data):
            found.setdefault(name, default if operator and "$" not in default else "")
    elif isinstance(data, Mapping):
        for value in data.values():
            variables_in(value, found)
    elif isinstance(data, list):
        for value in data:
            variables_in(value, found)
    return found


def mlstack_yaml(answers: Answers, fragments: list[str], added: list[tuple[str, str]]) -> str:
    lines = ["# The stack definition (docs/stack-definition.md), written by `mlstack init`.",
             "# `mlstack up --profile dev` starts it; `mlstack services` lists the fragments.",
             f"name: {answers.name}", "fragments:"]
    by = dict(added)
    lines += [f"  - {name}" + (f"   # required by {by[name]}" if name in by else "") for name in fragments]
    if answers.gpu != "default":
        lines.append(f'gpu: "{answers.gpu}"                # auto | required | off (docs/gpu.md)')
    else:
        lines.append("# gpu: auto                      # default: dev auto, prod required (docs/gpu.md)")
    return "\n".join(lines) + "\n"


def env_example(variables: list[Variable]) -> str:
    """The variables the stack reads, commented out at their defaults: committed, never holds a secret."""
    lines = ["# The variables this stack reads (copy to .env and uncomment to change one).",
             "# Committed: never put a secret in this file."]
    for variable in variables:
        if variable.secret:
            lines.append(f"# {variable.name}=    # secret: {variable.secret}")
        else:
            lines.append(f"# {variable.name}={variable.default}")
    return "\n".join(lines) + "\n"


def dev_env(variables: list[Variable]) -> str:
    """The developer's own .env (0600, git-ignored): the dev settings set to their defaults; secrets
    stay in .mlstack/dev-secrets.env, which only profiles that do not require them read."""
    lines = ["# Your dev settings, read by every mlstack command in this directory. Never commit it (.gitignore).",
             "# Generated dev secrets live in .mlstack/dev-secrets.env, which only profiles that do not require",
             "# them (dev) read; a secret set here is used by every profile, prod included."]
    for variable in variables:
        if variable.secret:
            lines.append(f"# {variable.name}=    # generated for dev in .mlstack/dev-secrets.env ({variable.secret})")
        elif variable.default:
            lines.append(f"{variable.name}={variable.default}")
        else:
            lines.append(f"# {variable.name}=")
    return "\n".join(lines) + "\n"


def gitignore(existing: str) -> str | None:
    """The .gitignore with our entries appended, or None when it has them all already."""
    present = {line.strip() for line in existing.splitlines()}
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in present]
    if not missing:
        return None
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    return prefix + "# added by mlstack init: dev settings and secrets stay out of git\n" + "\n".join(missing) + "\n"


def plan(answers: Answers, requires: Mapping[str, list[str]], variables: list[Variable],
         templates: Mapping[str, str], existing_gitignore: str | None = "") -> Plan:
    """Every file `init` writes for these answers; `templates` are the api/ project's files,
    `existing_gitignore` the text of the directory's .gitignore (None: leave it alone)."""
    fragments, added = with_requirements(answers.services, requires)
    result = Plan(fragments, added)
    result.files["mlstack.yaml"] = mlstack_yaml(answers, fragments, added)
    result.files[".env.example"] = env_example(variables)
    result.files[".env"] = dev_env(variables)
    if "api" in fragments:
        result.files.update({f"api/{path}": text for path, text in sorted(templates.items())})
    if existing_gitignore is not None and gitignore(existing_gitignore) is not None:
        result.files[".gitignore"] = gitignore(existing_gitignore)
    if "jupyter" in fragments:   # the dev profile mounts ./notebooks: created here, not root-owned by Docker
        result.files["notebooks/.gitkeep"] = ""
    return result
