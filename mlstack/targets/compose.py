"""The compose target (the default): the rendered model as one Compose file, as `render` always wrote it."""

from __future__ import annotations

from pathlib import Path as FsPath

from mlstack.targets.common import Conversion, secret_sources


def convert(rendered, out_dir: FsPath | None = None, output_format: str = "yaml") -> Conversion:
    provide = []
    for source in secret_sources(rendered.document(out_dir)):
        if source.external:
            continue
        declared = rendered.secrets.get(source.name)
        readers = f" (read by {', '.join(sorted(declared.readers))})" if declared and declared.readers else ""
        provide.append(f"secret {source.name}{readers}: {source.how()} when `docker compose up` runs")
    return Conversion({"compose.yaml": rendered.text(out_dir, output_format)}, [], provide)
