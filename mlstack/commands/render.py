"""`mlstack render`: one validated, deterministic file per target, written atomically.

`--target compose` (the default) and `swarm` write one file (or standard output); `k8s` writes a
directory (`-o DIR`: one manifest per object and a kustomization.yaml) or, without `-o`, one
multi-document YAML stream. What the deploy host must provide (secrets, images) is listed on
standard error: a render never needs a secret's value.
"""

from __future__ import annotations

from pathlib import Path as FsPath

from mlstack.errors import UsageError
from mlstack.lifecycle.workspace import build_profile, ensure_templates, write_atomically, write_directory
from mlstack.report import Result
from mlstack.targets import TARGETS, convert

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Mapping


def run(stack_file: str | None, profile: str, out: str | None, output_format: str, gpu: str | None = None,
        target: str = "compose", *, env: Mapping[str, str]) -> Result:
    if output_format not in ("yaml", "json"):
        raise UsageError(f"unknown format {output_format!r}: use yaml or json")
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}: use {', '.join(TARGETS)}")
    if target == "k8s" and output_format != "yaml":
        raise UsageError("--target k8s writes YAML manifests; --format json is for compose and swarm")
    rendered = build_profile(stack_file, profile, env, gpu)
    ensure_templates(rendered.stack.directory)
    directory = FsPath(out).resolve() if out not in (None, "-") else None
    out_dir = None if directory is None else (directory if target == "k8s" else directory.parent)
    conversion = convert(target, rendered, out_dir, output_format)
    diagnostics = rendered.warnings + conversion.warnings
    data = {"target": target, "provide": conversion.provide}
    if directory is None:
        text = "---\n".join(conversion.files[name] for name in conversion.files if name != "kustomization.yaml") \
            if not conversion.single_file else next(iter(conversion.files.values()))
        return Result(text=text, diagnostics=diagnostics, data=data, notes=_provide_lines(conversion.provide),
                      replayable=True)
    if conversion.single_file:
        write_atomically(directory, next(iter(conversion.files.values())))
        written = [str(directory)]
    else:
        written = write_directory(directory, conversion.files)
    return Result(text="", diagnostics=diagnostics, data={**data, "written": written},
                  notes=_provide_lines(conversion.provide))


def _provide_lines(provide: list[str]) -> list[str]:
    return ["the deploy host must provide:"] + [f"  {line}" for line in provide] if provide else []
