"""`mlstack init` on disk: the built-in fragments it offers, the template it copies, and the write.

Every conflict is found before anything is written; the files are staged in a temporary directory
inside the target and then moved into place, each with one rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from mlstack.records import record
from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.init_plan import Plan, Variable, variables_in
from mlstack.core.load import load_yaml_file
from mlstack.core.stack import PACKAGE_DIR, builtin_dir
from mlstack.errors import FileSystemError, UsageError
from mlstack.report import Diagnostic

API_TEMPLATE = PACKAGE_DIR / "templates" / "init" / "api"


@record(frozen=True)
class Fragment:
    name: str
    description: str
    requires: list[str]
    secrets: dict[str, str]   # variable -> description
    data: dict


def builtin_fragments() -> dict[str, Fragment]:
    """The built-in fragments, by name, as `init` offers them."""
    found = {}
    for path in sorted(builtin_dir("stacks").glob("*.yaml")):
        data = load_yaml_file(path, f"stacks/{path.name}", what="fragment").to_data()
        meta = data.get("x-mlstack") or {}
        secrets = {body["environment"]: body.get("description", name)
                   for name, body in (meta.get("secrets") or {}).items() if isinstance(body, dict) and body.get("environment")}
        found[path.stem] = Fragment(path.stem, meta.get("description", ""), list(meta.get("requires") or []), secrets, data)
    return found


def stack_variables(fragments: list[str], catalog: Mapping[str, Fragment]) -> list[Variable]:
    """The variables the chosen services read in their fragments and in the dev profile, with defaults."""
    dev = load_yaml_file(builtin_dir("overrides") / "dev.yaml", "overrides/dev.yaml").to_data()
    found: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for name in fragments:
        variables_in(catalog[name].data.get("services"), found)
        variables_in((dev.get("services") or {}).get(name), found)
        secrets.update(catalog[name].secrets)
    return [Variable(name, default, secrets.get(name, "")) for name, default in sorted(found.items())
            if not name.startswith("MLSTACK_")]


def api_template() -> dict[str, str]:
    """The api/ project's files, by path relative to api/."""
    return {source.relative_to(API_TEMPLATE).as_posix(): source.read_text(encoding="utf-8")
            for source in sorted(API_TEMPLATE.rglob("*"))
            if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc"}


def existing_gitignore(directory: FsPath) -> str | None:
    """The directory's .gitignore ("" when there is none); None when it is not a UTF-8 text file: left alone."""
    path = directory / ".gitignore"
    if not path.exists():
        return ""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() and not path.is_symlink() else None
    except (OSError, UnicodeDecodeError):
        return None


def check_target(directory: FsPath, plan: Plan, force: bool) -> None:
    """Before anything is written: the directory is writable and no file would be overwritten unasked."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FileSystemError(f"{existing}: not a directory", hint="choose another DIR")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FileSystemError(f"{existing}: not writable (permission denied); nothing was written",
                              hint="choose a directory you can write to, or fix its permissions")
    blocking = [path for path in plan.files if (directory / path).is_dir() or (directory / path).is_symlink()]
    conflicts = [path for path in plan.files
                 if path not in plan.merged and (directory / path).exists() and not (directory / path).is_dir()]
    if blocking or (conflicts and not force):
        paths = blocking or conflicts
        reason = "is in the way (a directory or a link)" if blocking else "exists; --force overwrites it"
        diagnostics = [Diagnostic(str(directory / path), 0, 0, "", f"{reason}", "init") for path in paths]
        raise UsageError(f"{len(paths)} file(s) would be overwritten", diagnostics,
                         hint="nothing was written" + ("" if blocking else "; pass --force to overwrite them"))


def write(directory: FsPath, plan: Plan) -> list[str]:
    """Stage every file in a temporary directory inside `directory`, then rename each into place."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = FsPath(tempfile.mkdtemp(prefix=".mlstack-init-", dir=directory))
    except OSError as error:   # root passes os.access, not a read-only or virtual file system
        raise FileSystemError(f"{error.filename or directory}: {error.strerror}; nothing was written",
                              hint="choose a directory you can write to, or fix its permissions") from None
    try:
        for path, text in plan.files.items():
            staged = staging / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if path in plan.private else 0o644)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
            if path not in plan.private:
                os.chmod(staged, 0o644)   # readable by the image's unprivileged user when mounted (dev)
        for path in plan.files:
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return list(plan.files)


def dev_secrets(directory: FsPath, env: Mapping[str, str]) -> list[str]:
    """Generate the dev values of the secrets the new stack's dev profile reads, as `up` would; their names."""
    from mlstack.core.stack import load_stack
    from mlstack.lifecycle import dev_secrets as store
    from mlstack.lifecycle.workspace import process_environment

    process_environment(load_stack(directory / "mlstack.yaml", directory), "dev", env, create_dev_secrets=True)
    return sorted(store.generated(directory))
