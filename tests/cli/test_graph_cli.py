"""`mlstack graph`: the default stack as text and as a picture; Graphviz missing is one line and exit 2."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from tests.cli.conftest import write

SERVICES = ["api", "jupyter", "mlflow", "postgres", "qdrant", "redis"]


def test_the_default_stack_as_mermaid(mlstack):
    done = mlstack("graph")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == "flowchart LR"
    assert all(any(line.startswith(f"  service_{name}[") for line in lines) for name in SERVICES)
    assert '  volume_hf_cache[("hf-cache<br/>model cache")]' in lines
    assert '  service_api -->|"healthy"| service_mlflow' in lines
    assert '  service_jupyter -.->|"/home/jovyan/.cache/huggingface"| volume_hf_cache' in lines
    assert any("127.0.0.1:8888-#gt;8888/tcp" in line for line in lines)


def test_a_seeded_volume_shows_its_source(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: seeded\nvolumes:\n  hf-cache:\n    seed: {from: ~/models/hf}\n"})
    done = mlstack("graph", "--format", "dot", "-p", "prod")
    assert done.code == 0, done.err
    assert '"volume_hf_cache" [shape=cylinder, label="hf-cache\\nmodel cache\\nseeded from ~/models/hf"' in done.out
    assert 'label="seeded-prod (profile prod)";' in done.out


@pytest.mark.graphviz
@pytest.mark.parametrize("name", ["stack.svg", "stack.png"])
def test_o_draws_the_picture_with_graphviz(mlstack, tmp_path, name):
    done = mlstack("graph", "-o", name)
    assert done.code == 0, done.err
    assert done.out == f"{name}: {name[-3:]}, 6 services, 6 volumes, 9 edges (profile dev)\n"
    data = (tmp_path / name).read_bytes()
    if name.endswith(".png"):
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        texts = {el.text for el in ElementTree.fromstring(data).iter("{http://www.w3.org/2000/svg}text")}
        assert set(SERVICES) <= texts and "model cache" in texts


def test_without_graphviz_svg_says_how_to_install_it_and_writes_nothing(mlstack, tmp_path):
    write(tmp_path, {"stack.svg": "old picture"})
    done = mlstack("graph", "-o", "stack.svg", env={"PATH": os.path.dirname(sys.executable)})
    assert (done.code, done.out) == (2, "")
    assert done.err.splitlines() == [
        "mlstack: --format svg needs Graphviz's `dot`, and there is none on PATH",
        "hint: install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, Fedora: `dnf install graphviz`, "
        "macOS: `brew install graphviz`, Windows: `winget install graphviz`), or write the graph as text: "
        "--format mermaid or --format dot"]
    assert (tmp_path / "stack.svg").read_text() == "old picture"


@pytest.mark.parametrize("args, message", [
    (["-o", "stack.jpg"], "mlstack: -o stack.jpg: cannot tell the format from '.jpg'; use --format "
                          "mermaid|dot|svg|png or one of .dot, .gv, .md, .mermaid, .mmd, .png, .svg"),
    (["--format", "png"], "mlstack: --format png is an image: write it to a file with -o FILE.png"),
])
def test_bad_output_choices_are_usage_errors(mlstack, args, message):
    done = mlstack("graph", *args)
    assert (done.code, done.out, done.err) == (2, "", message + "\n")


def test_the_format_choices_are_the_commands_formats():
    from mlstack.cli.app_tools import GraphFormat
    from mlstack.commands.graph import FORMATS

    assert tuple(choice.value for choice in GraphFormat) == FORMATS


def test_the_readme_picture_is_the_default_stack_of_this_mlstack(mlstack):
    """docs/stack.svg (README) shows every service and volume of the default stack, and as many arrows:
    when the built-in stack changes, `mlstack graph -o docs/stack.svg` in an empty directory redraws it."""
    from pathlib import Path

    done = mlstack("graph", "--format", "dot")
    assert done.code == 0, done.err
    svg = ElementTree.parse(Path(__file__).resolve().parents[2] / "docs" / "stack.svg").getroot()
    titles = [el.text for el in svg.iter("{http://www.w3.org/2000/svg}title")]
    nodes = sorted(line.split('"')[1] for line in done.out.splitlines() if "[shape=" in line)
    arrows = sorted(line.split('"')[1] + "->" + line.split('"')[3] for line in done.out.splitlines() if " -> " in line)
    assert sorted(t for t in titles[1:] if "->" not in t) == nodes
    assert sorted(t for t in titles if "->" in t) == arrows
