"""`mlstack render`: one validated, deterministic file per target, written atomically.

`--target compose` (the default) and `swarm` write one file (or standard output); `k8s` writes a
directory (`-o DIR`: one manifest per object and a kustomization.yaml) or, without `-o`, one
multi-document YAML stream. What the deploy host must provide (secrets, images) is listed on
standard error: a render never needs a secret's value.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FsPath

from mlstack.commands.common import build_profile, ensure_templates
from mlstack.errors import UsageError
from mlstack.report import Result
from mlstack.targets import TARGETS, convert

RENDERED_MARK = "# Rendered by mlstack:"


def run(stack_file: str | None, profile: str, out: str | None, output_format: str, gpu: str | None = None,
        target: str = "compose") -> Result:
    if output_format not in ("yaml", "json"):
        raise UsageError(f"unknown format {output_format!r}: use yaml or json")
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}: use {', '.join(TARGETS)}")
    if target == "k8s" and output_format != "yaml":
        raise UsageError("--target k8s writes YAML manifests; --format json is for compose and swarm")
    rendered = build_profile(stack_file, profile, gpu)
    ensure_templates(rendered.stack.directory)
    directory = FsPath(out).resolve() if out not in (None, "-") else None
    out_dir = None if directory is None else (directory if target == "k8s" else directory.parent)
    conversion = convert(target, rendered, out_dir, output_format)
    diagnostics = rendered.warnings + conversion.warnings
    data = {"target": target, "provide": conversion.provide}
    if directory is None:
        text = "---\n".join(conversion.files[name] for name in conversion.files if name != "kustomization.yaml") \
            if not conversion.single_file else next(iter(conversion.files.values()))
        return Result(text=text, diagnostics=diagnostics, data=data, notes=_provide_lines(conversion.provide))
    if conversion.single_file:
        write_atomically(directory, next(iter(conversion.files.values())))
        written = [str(directory)]
    else:
        written = write_directory(directory, conversion.files)
    return Result(text="", diagnostics=diagnostics, data={**data, "written": written},
                  notes=_provide_lines(conversion.provide))


def _provide_lines(provide: list[str]) -> list[str]:
    return ["the deploy host must provide:"] + [f"  {line}" for line in provide] if provide else []


def write_directory(directory: FsPath, files: dict[str, str]) -> list[str]:
    """Each file atomically; manifests an earlier render wrote that this one no longer has are deleted."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--target k8s writes a directory, and {directory} is a file")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in sorted(directory.glob("*.yaml")):
        if stale.name not in files and stale.read_text(encoding="utf-8", errors="replace").startswith(RENDERED_MARK):
            stale.unlink()
    for name, text in files.items():
        write_atomically(directory / name, text)
    return [str(directory / name) for name in files]


def write_atomically(target: FsPath, text: str) -> None:
    """Temp file in the same directory, fsync, rename: an existing file is replaced whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
