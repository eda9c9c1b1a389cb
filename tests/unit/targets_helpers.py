"""Render a stack in-process for the target tests: (mlstack.yaml, files) in, Rendered out."""

from __future__ import annotations

from pathlib import Path

from mlstack.core.pipeline import Rendered, build
from mlstack.core.stack import load_stack

SECRETS_ENV = {"POSTGRES_PASSWORD": "canary-pg-3f9a", "JUPYTER_TOKEN": "canary-jt-77c1"}


def rendered(directory: Path, profile: str = "prod", stack: str | None = None, files: dict[str, str] | None = None,
             env: dict[str, str] | None = None) -> Rendered:
    for name, text in (files or {}).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    definition = None
    if stack is not None:
        definition = directory / "mlstack.yaml"
        definition.write_text(stack)
    return build(load_stack(definition, directory), profile, dict(SECRETS_ENV if env is None else env))


def warned(conversion, path: str) -> list[str]:
    return [d.message for d in conversion.warnings if d.path == path]
