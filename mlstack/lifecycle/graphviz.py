"""Drawing a dot graph as SVG or PNG with Graphviz's `dot`, through the one subprocess runner.

Graphviz is not a Python package: mlstack finds `dot` on the PATH the CLI passed down, and when it
is not there says how to install it instead of failing inside a subprocess (docs/graph.md).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FsPath
from typing import Mapping

from mlstack.engine import compose
from mlstack.errors import UsageError

DRAWN = ("svg", "png")
INSTALL = ("install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, Fedora: `dnf install graphviz`, "
           "macOS: `brew install graphviz`, Windows: `winget install graphviz`), "
           "or write the graph as text: --format mermaid or --format dot")
DRAW_TIMEOUT_S = 60.0


def find_dot(env: Mapping[str, str]) -> str | None:
    return shutil.which("dot", path=env.get("PATH", ""))


def draw(source: str, image_format: str, env: Mapping[str, str]) -> bytes:
    """`dot -T<format>` of `source`; UsageError (exit 2) saying how to install Graphviz when it is missing."""
    program = find_dot(env)
    if program is None:
        raise UsageError(f"--format {image_format} needs Graphviz's `dot`, and there is none on PATH", hint=INSTALL)
    with tempfile.TemporaryDirectory(prefix="mlstack-graph-") as directory:
        source_file, drawing = FsPath(directory) / "stack.dot", FsPath(directory) / f"stack.{image_format}"
        source_file.write_text(source, encoding="utf-8")
        compose.run([program, f"-T{image_format}", "-o", str(drawing), str(source_file)], env=env,
                    stdin_closed=True, timeout=DRAW_TIMEOUT_S)
        return drawing.read_bytes()
