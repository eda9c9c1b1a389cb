"""Lint over a stack's profiles: the facts core may not read itself (build contexts on disk),
each profile built (unset required variables get placeholders: lint judges the files, not this
shell), findings merged across profiles, and the report as text, JSON or SARIF.
"""

from __future__ import annotations

import json
import re
from mlstack.records import asdict, replace
from pathlib import Path as FsPath

from mlstack import __version__
from mlstack.core.lint import lint
from mlstack.core.lint_config import lint_config
from mlstack.core.lint_model import SEVERITIES, BuildContext, Finding, LintInput
from mlstack.core.lint_rules import BY_ID, RULES
from mlstack.core.pipeline import Rendered, build
from mlstack.core.sarif import to_sarif
from mlstack.core.stack import PACKAGE_DIR, TEMPLATES_DIR, Stack, builtin_dir
from mlstack.errors import StackError
from mlstack.patterns import lazy

PLACEHOLDER = "mlstack-lint-placeholder"
_MISSING = lazy(r"^required variable (\w+) is missing a value")   # core.interpolate's words for ${VAR:?}


def build_for_lint(stack: Stack, profile: str, process_env: dict[str, str]) -> tuple[Rendered, set[str]]:
    """Build the profile; a required variable that is not set gets a placeholder, and the build is retried."""
    env = dict(process_env)
    placeholders: set[str] = set()
    while True:
        try:
            return build(stack, profile, env), placeholders
        except StackError as error:
            missing = {match[1] for diagnostic in error.diagnostics
                       if (match := _MISSING.search(diagnostic.message))} - placeholders
            if not missing:
                raise
            placeholders |= missing
            env.update(dict.fromkeys(missing, PLACEHOLDER))


def lint_profile(rendered: Rendered) -> list[Finding]:
    """One profile's findings, with its tuning from mlstack.yaml and the facts of its build contexts."""
    stack = rendered.stack
    config = lint_config(stack.root, stack.profile_chain(rendered.profile.name), set(BY_ID))
    caches = {volume for meta in rendered.model.file_meta if meta is not None and meta.is_map
              for volume in (meta.get("caches").value if meta.get("caches") is not None and meta.get("caches").is_map
                             else {})}
    seeded = {volume for volume, settings in stack.volumes.items() if isinstance(settings, dict) and settings.get("seed")}
    data = LintInput(rendered.root, config.kind, frozenset(caches), frozenset(seeded), build_contexts(rendered))
    return lint(data, config, rendered.profile.name)


# --- build contexts on disk ----------------------------------------------------------------------
def build_contexts(rendered: Rendered) -> dict[str, BuildContext]:
    services = rendered.root.get("services")
    contexts: dict[str, BuildContext] = {}
    for name, service in (services.value.items() if services is not None and services.is_map else []):
        build = service.get("build") if service.is_map else None
        context = build.get("context") if build is not None and build.is_map else None
        if context is None or re.match(r"^([a-z]+://|git@|github\.com/)", context.text()):
            continue
        directory = context_directory(rendered.stack.directory, context.text())
        dockerfile_node = build.get("dockerfile")
        dockerfile = directory / (dockerfile_node.text() if dockerfile_node is not None else "Dockerfile")
        if directory.is_dir():
            contexts[name] = read_context(context.text(), directory, dockerfile)
    return contexts


def context_directory(stack_dir: FsPath, context: str) -> FsPath:
    """The shipped templates stand in for their copy under .mlstack/, which lint does not write."""
    relative = context.removeprefix("./")
    if relative.startswith(TEMPLATES_DIR + "/"):
        return PACKAGE_DIR / "templates" / relative[len(TEMPLATES_DIR) + 1:]
    return (stack_dir / context).resolve()


def read_context(shown: str, directory: FsPath, dockerfile: FsPath) -> BuildContext:
    ignore_files = [dockerfile.with_name(dockerfile.name + ".dockerignore"), directory / ".dockerignore"]
    ignore = next((path for path in ignore_files if path.is_file()), None)
    patterns = tuple(ignore.read_text(encoding="utf-8").splitlines()) if ignore is not None else None
    user, base = None, ""
    if dockerfile.is_file():
        for line in dockerfile.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if words and words[0].upper() == "USER" and len(words) > 1:
                user = words[1]
            elif words and words[0].upper() == "FROM":
                base = next((word for word in words[1:] if not word.startswith("--")), "")
                user = None  # a new stage starts as its base image's user
    return BuildContext(shown, patterns, user, base)


# --- the report ----------------------------------------------------------------------------------
def merge_profiles(findings: list[Finding]) -> list[Finding]:
    """The same finding in several profiles (same place, rule, severity, message) is reported once."""
    merged: dict[Finding, list[Finding]] = {}
    for finding in findings:  # a silenced finding is one whatever its severity in each profile
        key = replace(finding, profile="", severity="" if finding.silenced else finding.severity)
        merged.setdefault(key, []).append(finding)
    return sorted(replace(max(group, key=lambda f: SEVERITIES.index(f.severity)),
                          profile=",".join(f.profile for f in group)) for group in merged.values())


def counts(findings: list[Finding]) -> dict[str, int]:
    active = [finding for finding in findings if not finding.silenced]
    return {"error": sum(f.severity == "error" for f in active), "warning": sum(f.severity == "warning" for f in active),
            "info": sum(f.severity == "info" for f in active), "silenced": len(findings) - len(active)}


def summary(findings: list[Finding], profiles: list[str]) -> str:
    number = counts(findings)
    return (f"{number['error']} errors, {number['warning']} warnings, {number['info']} info, "
            f"{number['silenced']} silenced in profile{'s' if len(profiles) > 1 else ''} {', '.join(profiles)}")


def render_report(findings: list[Finding], output_format: str, stack: Stack, profiles: list[str], notes: list[str]) -> str:
    if output_format == "json":
        payload = {"profiles": profiles, "counts": counts(findings), "notes": notes,
                   "findings": [asdict(finding) for finding in findings]}
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"
    if output_format == "sarif":
        root = repository_root(stack.directory)
        uris = {finding.file: source_uri(finding.file, stack, root) for finding in findings}
        return json.dumps(to_sarif(findings, RULES, uris, root.as_uri() + "/", __version__), indent=2) + "\n"
    lines = [f"{finding}{f' [{finding.profile}]' if len(profiles) > 1 else ''}"
             for finding in sorted(findings, key=lambda f: (bool(f.silenced), f))]
    return "\n".join(lines + [f"note: {note}" for note in notes] + [summary(findings, profiles)]) + "\n"


def repository_root(start: FsPath) -> FsPath:
    """Where GitHub resolves SARIF paths: the enclosing git checkout, else the stack directory."""
    for directory in [start.resolve(), *start.resolve().parents]:
        if (directory / ".git").exists():
            return directory
    return start.resolve()


def source_uri(file: str, stack: Stack, root: FsPath) -> str:
    """A finding's file as a URI relative to the repository root (absolute file:// when outside it)."""
    if file.startswith("mlstack:"):
        kind, _, name = file[len("mlstack:"):].partition("/")
        path = (builtin_dir(kind) / name).resolve()
    else:
        path = (stack.directory / file).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_uri()
