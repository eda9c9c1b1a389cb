"""`mlstack render`: one validated, deterministic compose file, written atomically."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Mapping

from mlstack.errors import UsageError
from mlstack.lifecycle.workspace import build_profile, ensure_templates, write_atomically
from mlstack.report import Result


def run(stack_file: str | None, profile: str, out: str | None, output_format: str, gpu: str | None = None, *,
        env: Mapping[str, str]) -> Result:
    if output_format not in ("yaml", "json"):
        raise UsageError(f"unknown format {output_format!r}: use yaml or json")
    rendered = build_profile(stack_file, profile, env, gpu)
    ensure_templates(rendered.stack.directory)
    if out is None or out == "-":
        return Result(text=rendered.text(None, output_format), diagnostics=rendered.warnings)
    target = FsPath(out).resolve()
    write_atomically(target, rendered.text(target.parent, output_format))
    return Result(text="", diagnostics=rendered.warnings, data={"written": str(target)})

