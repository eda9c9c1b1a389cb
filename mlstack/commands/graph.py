"""`mlstack graph`: the picture of a profile's stack, as Mermaid, dot, SVG or PNG (docs/graph.md).

Nothing runs and no engine is asked: the picture is the profile's render, with the stack's seed
declarations. SVG and PNG are drawn by Graphviz when it is installed.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.graph import WRITERS, dot, stack_graph
from mlstack.core.model import Node
from mlstack.errors import UsageError
from mlstack.lifecycle import graphviz
from mlstack.lifecycle.workspace import build_profile, write_atomically
from mlstack.report import Result

FORMATS = ("mermaid", "dot", "svg", "png")
# -o FILE without --format: the format its extension names.
EXTENSIONS = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot",
              ".svg": "svg", ".png": "png"}


def output_format(chosen: str | None, out: str | None) -> str:
    """--format as given, else from -o's extension, else mermaid."""
    if chosen is not None:
        if chosen not in FORMATS:
            raise UsageError(f"unknown --format {chosen!r}: use {', '.join(FORMATS)}")
        return chosen
    if out in (None, "-"):
        return "mermaid"
    suffix = FsPath(out).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UsageError(f"-o {out}: cannot tell the format from {suffix or 'a name without an extension'!r}; "
                         f"use --format {'|'.join(FORMATS)} or one of {', '.join(sorted(EXTENSIONS))}")
    return EXTENSIONS[suffix]


def declared_seeds(definition: Node | None) -> dict[str, str]:
    """volume -> where `mlstack seed` fills it from, as written in mlstack.yaml (docs/seeding.md)."""
    volumes = definition.get("volumes") if definition is not None else None
    seeds = {}
    for name, body in (volumes.value.items() if volumes is not None and volumes.is_map else []):
        seed = body.get("seed") if body.is_map else None
        declared = seed.to_data() if seed is not None else None
        if isinstance(declared, dict):
            source = declared.get("from") or f"image {declared.get('image', '?')} at {declared.get('path', '/')}"
            seeds[str(name)] = str(source)
    return seeds


def run(stack_file: str | None, profile: str, chosen_format: str | None, out: str | None, *,
        env: Mapping[str, str]) -> Result:
    image_format = output_format(chosen_format, out)
    if image_format == "png" and out in (None, "-"):
        raise UsageError("--format png is an image: write it to a file with -o FILE.png")
    rendered = build_profile(stack_file, profile, env)
    graph = stack_graph(rendered.document(), declared_seeds(rendered.stack.root),
                        f"{rendered.project_name} (profile {rendered.profile.name})")
    output: str | bytes
    if image_format in graphviz.DRAWN:
        output = graphviz.draw(dot(graph), image_format, env)
    else:
        output = WRITERS[image_format](graph)
    data = {"format": image_format, "services": [s.name for s in graph.services],
            "volumes": [v.name for v in graph.volumes], "edges": len(graph.edges)}
    if out in (None, "-"):
        return Result(text=output.decode("utf-8") if isinstance(output, bytes) else output, data=data)
    write_atomically(FsPath(out), output)
    summary = (f"{out}: {image_format}, {len(graph.services)} services, {len(graph.volumes)} volumes, "
               f"{len(graph.edges)} edges (profile {rendered.profile.name})")
    return Result(text=summary, data={**data, "written": out})
