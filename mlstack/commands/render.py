"""`mlstack render`: one validated, deterministic compose file, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FsPath

from mlstack.commands.common import build_profile, ensure_templates
from mlstack.errors import UsageError
from mlstack.report import Result


def run(stack_file: str | None, profile: str, out: str | None, output_format: str, gpu: str | None = None) -> Result:
    if output_format not in ("yaml", "json"):
        raise UsageError(f"unknown format {output_format!r}: use yaml or json")
    rendered = build_profile(stack_file, profile, gpu)
    ensure_templates(rendered.stack.directory)
    if out is None or out == "-":
        return Result(text=rendered.text(None, output_format), diagnostics=rendered.warnings)
    target = FsPath(out).resolve()
    write_atomically(target, rendered.text(target.parent, output_format))
    return Result(text="", diagnostics=rendered.warnings + [], data={"written": str(target)})


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
