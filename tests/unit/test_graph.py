"""The stack graph (core/graph.py): what it shows, and its Mermaid and dot text."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from mlstack.commands.graph import declared_seeds, output_format
from mlstack.core.graph import dot, mermaid, stack_graph
from mlstack.core.load import parse_yaml
from mlstack.errors import UsageError

DOCUMENT = {
    "name": "team-dev",
    "services": {
        "web": {
            "image": "nginx:1.27",
            "depends_on": {
                "api": {"condition": "service_healthy", "required": True},
                "migrate": {"condition": "service_completed_successfully", "required": True},
                "cache": {"condition": "service_started", "required": False},
            },
            "ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"},
                      {"target": 443, "protocol": "tcp"}],
        },
        "api": {
            "build": {"context": "./api"},
            "volumes": [{"type": "volume", "source": "models", "target": "/models", "read_only": True},
                        {"type": "bind", "source": "./src", "target": "/src"}],
            "deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1,
                                                                   "capabilities": ["gpu"]}]}}},
        },
        "migrate": {"image": "migrate:1", "depends_on": ["db"], "profiles": ["tools"]},
        "db": {"image": "postgres:16", "volumes": [{"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data"}]},
        "cache": {"image": "redis:7"},
    },
    "volumes": {"models": {}, "pgdata": {}, "shared": {"external": True}},
    "x-mlstack": {"caches": {"models": {"service": "api", "target": "/models"}}},
}
SEEDS = {"models": "~/models/hf"}


def edges(kind: str) -> list[tuple[str, str, str]]:
    return [(e.source, e.target, e.label) for e in stack_graph(DOCUMENT, SEEDS).edges if e.kind == kind]


def test_dependencies_carry_their_condition_and_whether_they_are_required():
    assert edges("depends") == [
        ("migrate", "db", "started"),                       # the short form: started
        ("web", "api", "healthy"),
        ("web", "cache", "started, optional"),
        ("web", "migrate", "completed"),
    ]


def test_named_volumes_are_mounted_with_their_path_bind_mounts_are_not_shown():
    assert edges("mount") == [("api", "models", "/models (read-only)"),
                              ("db", "pgdata", "/var/lib/postgresql/data")]


def test_services_show_image_or_build_gpu_compose_profile_and_published_ports():
    graph = stack_graph(DOCUMENT, SEEDS)
    shown = {service.name: service.lines() for service in graph.services}
    assert [service.name for service in graph.services] == ["api", "cache", "db", "migrate", "web"]
    assert shown["api"] == ["api", "build ./api", "GPU reserved"]
    assert shown["migrate"] == ["migrate", "migrate:1", "compose profile tools"]
    assert shown["web"] == ["web", "nginx:1.27", "127.0.0.1:8080->80/tcp", "443/tcp (host port chosen by the engine)"]


def test_volumes_mark_model_caches_seeds_external_and_unmounted_ones():
    shown = {volume.name: volume.lines() for volume in stack_graph(DOCUMENT, SEEDS).volumes}
    assert shown == {
        "models": ["models", "model cache", "seeded from ~/models/hf"],
        "pgdata": ["pgdata"],
        "shared": ["shared", "external", "not mounted in this profile"],
    }


def test_the_same_model_in_another_key_order_gives_the_same_text():
    reordered = {**DOCUMENT, "services": dict(reversed(list(DOCUMENT["services"].items())))}
    assert mermaid(stack_graph(reordered, SEEDS)) == mermaid(stack_graph(DOCUMENT, SEEDS))
    assert dot(stack_graph(reordered, SEEDS)) == dot(stack_graph(DOCUMENT, SEEDS))


NODE = re.compile(r'^  (\w+)(\["|\[\(")(.*?)("\]|"\)\])$')
ARROW = re.compile(r'^  (\w+) (-->|-\.->)\|"(.*?)"\| (\w+)$')


def test_mermaid_is_a_left_to_right_flowchart_whose_arrows_join_declared_nodes():
    lines = mermaid(stack_graph(DOCUMENT, SEEDS)).splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {m.group(1): m for m in map(NODE.match, lines) if m}
    arrows = [m.groups() for m in map(ARROW.match, lines) if m]
    assert sorted(nodes) == ["service_api", "service_cache", "service_db", "service_migrate", "service_web",
                             "volume_models", "volume_pgdata", "volume_shared"]
    assert all(nodes[name].group(2) == '[("' for name in nodes if name.startswith("volume_"))   # cylinders
    assert len(arrows) == 6 and all(a[0] in nodes and a[3] in nodes for a in arrows)
    assert ("service_web", "-->", "started, optional", "service_cache") in arrows
    assert ("service_api", "-.->", "/models (read-only)", "volume_models") in arrows
    assert "  class volume_models cache" in lines and "  class service_api gpu" in lines
    # every line is a node, an arrow, a comment or a class line: nothing Mermaid would misread
    assert all(NODE.match(l) or ARROW.match(l) or l.startswith(("flowchart", "  %%", "  class")) for l in lines)


def test_mermaid_labels_escape_quotes_and_markup():
    document = {"services": {"odd": {"image": 'img"<x>&'}}}
    line = [l for l in mermaid(stack_graph(document, {})).splitlines() if l.startswith("  service_odd")][0]
    assert line == '  service_odd["odd<br/>img#quot;#lt;x#gt;#amp;"]'


@pytest.mark.graphviz
def test_dot_text_is_read_by_graphviz_into_the_same_nodes_and_edges():
    document = {**DOCUMENT, "name": 'team "quoted" \\ dev'}
    done = subprocess.run([shutil.which("dot") or "dot", "-Tsvg"], input=dot(stack_graph(document, SEEDS)),
                          capture_output=True, text=True, check=True)
    svg = ElementTree.fromstring(done.stdout)
    titles = [el.text for el in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert titles[0] == "stack"
    assert sorted(t for t in titles[1:] if "->" not in t) == [
        "service_api", "service_cache", "service_db", "service_migrate", "service_web",
        "volume_models", "volume_pgdata", "volume_shared"]
    assert sorted(t for t in titles if "->" in t) == sorted([
        "service_migrate->service_db", "service_web->service_api", "service_web->service_cache",
        "service_web->service_migrate", "service_api->volume_models", "service_db->volume_pgdata"])
    texts = [el.text for el in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert 'team "quoted" \\ dev' in texts                      # the title, as written
    assert "seeded from ~/models/hf" in texts and "started, optional" in texts


@pytest.mark.parametrize("chosen, out, expected", [
    (None, None, "mermaid"),
    (None, "-", "mermaid"),
    (None, "stack.svg", "svg"),
    (None, "docs/STACK.PNG", "png"),
    (None, "stack.gv", "dot"),
    (None, "stack.dot", "dot"),
    (None, "stack.mmd", "mermaid"),
    ("dot", "picture.svg", "dot"),        # --format wins over the extension
])
def test_the_format_is_the_option_else_the_extension_else_mermaid(chosen, out, expected):
    assert output_format(chosen, out) == expected


@pytest.mark.parametrize("chosen, out, message", [
    (None, "stack.jpg", "-o stack.jpg: cannot tell the format from '.jpg'; use --format mermaid|dot|svg|png "
                        "or one of .dot, .gv, .md, .mermaid, .mmd, .png, .svg"),
    (None, "stack", "-o stack: cannot tell the format from 'a name without an extension'; use --format "
                    "mermaid|dot|svg|png or one of .dot, .gv, .md, .mermaid, .mmd, .png, .svg"),
    ("pdf", None, "unknown --format 'pdf': use mermaid, dot, svg, png"),
])
def test_an_unknown_format_is_a_usage_error(chosen, out, message):
    with pytest.raises(UsageError) as raised:
        output_format(chosen, out)
    assert raised.value.message == message


def test_seeds_are_shown_as_declared():
    definition = parse_yaml(
        "volumes:\n"
        "  hf-cache:\n    seed: {from: ~/models/hf, owner: '1000:100'}\n"
        "  weights:\n    seed: {image: registry.internal/weights:1, path: /models}\n"
        "  plain: {}\n", "mlstack.yaml")
    assert declared_seeds(definition) == {"hf-cache": "~/models/hf", "weights": "image registry.internal/weights:1 at /models"}
    assert declared_seeds(None) == {}
